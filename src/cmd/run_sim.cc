// `kubepp sim`: hollow nodes for scale tests (src/sim/hollow.h).
#include <signal.h>

#include <CLI/CLI.hpp>

#include "client/rest.h"
#include "cmd/roles.h"
#include "common/log.h"
#include "sim/hollow.h"

namespace kubepp::cmd {

int RunSim(int argc, char** argv) {
  CLI::App app{"Hollow nodes: many simulated nodes in one process, for scale tests."};
  app.name(argv[0]);
  std::string kubeconfig;
  sim::HollowOptions opts;
  double startup_delay = 0;
  int verbosity = 0;
  app.add_option("--kubeconfig", kubeconfig, "Kubeconfig of the cluster to join")->required();
  app.add_option("--nodes", opts.nodes, "Number of hollow nodes")->capture_default_str();
  app.add_option("--name-prefix", opts.name_prefix, "Node names are PREFIX-0, PREFIX-1, ...")->capture_default_str();
  app.add_option("--cpu", opts.cpu, "CPU capacity of each node")->capture_default_str();
  app.add_option("--memory", opts.memory, "Memory capacity of each node")->capture_default_str();
  app.add_option("--pods", opts.pods, "Pod capacity of each node")->capture_default_str();
  app.add_option("--startup-delay", startup_delay, "Seconds from a pod's creation to Running")->capture_default_str();
  app.add_option("-v,--v", verbosity, "Log verbosity");
  CLI11_PARSE(app, argc, argv);
  log::SetVerbosity(verbosity);
  log::Logger logger("sim");
  opts.startup_delay = std::chrono::milliseconds(static_cast<int64_t>(startup_delay * 1000));

  sigset_t set = BlockShutdownSignals();

  auto cfg = client::LoadKubeconfig(kubeconfig);
  if (!cfg.ok()) {
    logger.Error("cannot load the kubeconfig", {{"err", cfg.status().ToString()}});
    return 1;
  }
  cfg->user_agent = "kubepp-sim";
  client::RestClient client(*cfg);
  sim::HollowCluster cluster(&client, opts);
  if (Status st = cluster.Start(); !st.ok()) {
    logger.Error("cannot start the hollow nodes", {{"err", st.ToString()}});
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  logger.Info("shutting down", {{"signal", std::to_string(sig)}});
  cluster.Stop();
  return 0;
}

}  // namespace kubepp::cmd
