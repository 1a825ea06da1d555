// `kubepp agent --server URL --token T`: joins this machine to a cluster as a
// node. The token is the server's bootstrap token (DIR/node-token of
// `kubepp server`); the agent trades it for a client certificate of its own
// (kubelet/tls_bootstrap.h), then runs the node agent with it.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "client/rest.h"
#include "cmd/node_flags.h"
#include "cmd/roles.h"
#include "common/file.h"
#include "common/log.h"
#include "common/strings.h"
#include "kubelet/tls_bootstrap.h"

namespace kubepp::cmd {

int RunAgent(int argc, char** argv) {
  CLI::App app{"Join this machine to a cluster as a node (kubelet, runtime, pod network)."};
  app.name(argv[0]);
  std::string server, token, token_file;
  NodeFlags flags;
  app.add_option("--server", server, "URL of the cluster's API server (https://host:port)")->required();
  app.add_option("--token", token, "The cluster's node token (the server's DATA_DIR/node-token)");
  app.add_option("--token-file", token_file, "A file holding the node token");
  AddNodeFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  if (!FinishNodeFlags(flags)) return 2;
  if (token.empty() && !token_file.empty()) {
    auto t = ReadFile(token_file);
    if (!t.ok()) {
      std::fprintf(stderr, "--token-file: %s\n", t.status().ToString().c_str());
      return 2;
    }
    token = std::string(TrimSpace(*t));
  }
  kubelet::AgentOptions& ao = flags.ao;
  if (ao.kubelet.node_name.empty()) ao.kubelet.node_name = kubelet::DefaultNodeName();
  if (token.empty() && !PathExists(kubelet::KubeletKubeconfigPath(ao.dir))) {
    std::fprintf(stderr, "--token or --token-file is required to join\n");
    return 2;
  }
  log::Logger logger("agent");
  sigset_t set = BlockShutdownSignals();
  // A signal while joining ends the wait.
  std::atomic<bool> stop{false};
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    logger.Info("shutting down", {{"signal", sig}});
    stop.store(true);
  });
  kubelet::BootstrapOptions bo;
  bo.server = server;
  bo.token = token;
  bo.dir = ao.dir;
  bo.node_name = ao.kubelet.node_name;
  bo.cancelled = [&] { return stop.load(); };
  auto cfg = kubelet::BootstrapClient(bo);
  if (!cfg.ok() || stop.load()) {
    if (!stop.load()) {
      logger.Error("cannot join the cluster", {{"server", server}, {"err", cfg.status().ToString()}});
      pthread_kill(signals.native_handle(), SIGTERM);
    }
    signals.join();
    return 1;
  }
  return RunNodeAgent(
      std::move(*cfg), ao,
      [&](bool started) {
        if (!started) pthread_kill(signals.native_handle(), SIGTERM);
        signals.join();
      },
      &bo);
}

}  // namespace kubepp::cmd
