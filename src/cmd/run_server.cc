// `kubepp server`: for now the storage layer under a future API server. It
// opens (recovering) the embedded store or connects to etcd, compacts and
// snapshots in the background, and runs until SIGINT or SIGTERM.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cmd/roles.h"
#include "common/log.h"
#include "storage/open.h"

namespace kubepp::cmd {

int RunServer(int argc, char** argv) {
  CLI::App app{"Run the API server, scheduler, controllers and (unless --no-agent) a node agent."};
  app.name(argv[0]);
  std::string data_dir = "/var/lib/kubepp";
  std::string bind_address = "127.0.0.1";
  int https_port = 6443;
  bool no_agent = false;
  std::string etcd;
  int verbosity = 0;
  app.add_option("--data-dir", data_dir, "Directory for the embedded store, certificates and kubeconfig")
      ->capture_default_str();
  app.add_option("--bind-address", bind_address, "Address the API server listens on")->capture_default_str();
  app.add_option("--https-port", https_port, "Port of the API server")->capture_default_str();
  app.add_flag("--no-agent", no_agent, "Do not run a node agent in this process");
  app.add_option("--etcd", etcd, "Comma-separated etcd client URLs; the embedded store is used when empty");
  app.add_option("-v,--v", verbosity, "Log verbosity");
  CLI11_PARSE(app, argc, argv);
  log::SetVerbosity(verbosity);
  log::Logger logger("server");

  // Signals are taken synchronously by this thread; block them before any
  // other thread starts so they all inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  storage::StoreConfig config;
  config.data_dir = data_dir + "/db";
  for (size_t start = 0; start < etcd.size();) {
    size_t end = etcd.find(',', start);
    if (end == std::string::npos) end = etcd.size();
    if (end > start) config.etcd_endpoints.push_back(etcd.substr(start, end - start));
    start = end + 1;
  }
  auto store = storage::OpenStore(config);
  if (!store.ok()) {
    logger.Error("cannot open storage", {{"err", store.status()}});
    return 1;
  }
  auto rev = (*store)->CurrentRevision();
  logger.Info("storage ready", {{"backend", config.etcd_endpoints.empty() ? "embedded" : "etcd"},
                                {"revision", rev.ok() ? *rev : -1}});
  logger.Info("the API server is not implemented yet; serving storage only until SIGTERM");
  int sig = 0;
  sigwait(&set, &sig);
  logger.Info("shutting down", {{"signal", sig}});
  (*store)->Close();
  return 0;
}

}  // namespace kubepp::cmd
