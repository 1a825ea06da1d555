// `kubepp scheduler`: the scheduler alone, against a cluster's API server,
// with an optional KubeSchedulerConfiguration file. Runs until SIGINT/SIGTERM.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <string>

#include "client/rest.h"
#include "cmd/roles.h"
#include "common/file.h"
#include "common/log.h"
#include "scheduler/scheduler.h"

namespace kubepp::cmd {

int RunScheduler(int argc, char** argv) {
  CLI::App app{"Run the scheduler against a cluster's API server."};
  app.name(argv[0]);
  std::string kubeconfig, config_file;
  bool leader_elect = true;
  int verbosity = 0;
  app.add_option("--kubeconfig", kubeconfig, "Kubeconfig of the cluster")->required();
  app.add_option("--config", config_file, "KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1)");
  app.add_option("--leader-elect", leader_elect, "Schedule only while holding the kube-scheduler lease")
      ->capture_default_str();
  app.add_option("-v,--v", verbosity, "Log verbosity");
  CLI11_PARSE(app, argc, argv);
  log::SetVerbosity(verbosity);
  log::Logger logger("scheduler");
  scheduler::SchedulerOptions so;
  so.leader_elect = leader_elect;
  if (!config_file.empty()) {
    auto text = ReadFile(config_file);
    if (!text.ok()) {
      logger.Error("cannot read the configuration", {{"err", text.status().ToString()}});
      return 1;
    }
    auto cfg = scheduler::ParseSchedulerConfig(*text);
    if (!cfg.ok()) {
      logger.Error("invalid configuration", {{"err", cfg.status().ToString()}});
      return 1;
    }
    so.config = std::move(*cfg);
  }
  sigset_t set = BlockShutdownSignals();
  auto cfg = client::LoadKubeconfig(kubeconfig);
  if (!cfg.ok()) {
    logger.Error("cannot load the kubeconfig", {{"err", cfg.status().ToString()}});
    return 1;
  }
  cfg->user_agent = "kube-scheduler";
  client::RestClient client(*cfg);
  scheduler::Scheduler sched(&client, so);
  if (Status st = sched.Validate(); !st.ok()) {
    logger.Error("invalid configuration", {{"err", st.ToString()}});
    return 1;
  }
  sched.Start();
  int sig = 0;
  sigwait(&set, &sig);
  logger.Info("shutting down", {{"signal", sig}});
  sched.Stop();
  return 0;
}

}  // namespace kubepp::cmd
