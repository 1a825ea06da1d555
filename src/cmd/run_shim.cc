// `kubepp shim`: internal; the runtime starts one per container
// (kubelet/shim/shim.h).
#include <CLI/CLI.hpp>

#include "cmd/roles.h"
#include "kubelet/shim/shim.h"

namespace kubepp::cmd {

int RunShim(int argc, char** argv) {
  CLI::App app{"The monitor process of one container (started by the kubelet's runtime)."};
  app.name(argv[0]);
  kubelet::shim::Options o;
  app.add_option("--id", o.id, "runc container id")->required();
  app.add_option("--bundle", o.bundle, "OCI bundle directory")->required();
  app.add_option("--state", o.state_dir, "Directory for exit.json, runc.log and pid files")->required();
  app.add_option("--log", o.log_path, "Container log file (CRI format)")->required();
  app.add_option("--runc", o.runc, "runc binary")->capture_default_str();
  app.add_option("--runc-root", o.runc_root, "runc state directory");
  app.add_option("--memory-cgroup", o.memory_cgroup, "The container's memory cgroup directory (OOM detection)");
  app.add_flag("--stdin", o.stdin, "Keep a stdin open for attach");
  app.add_flag("--stdin-once", o.stdin_once, "Close stdin when the first attached input ends");
  app.add_flag("--tty", o.tty, "Run the container on a terminal");
  CLI11_PARSE(app, argc, argv);
  return kubelet::shim::Run(o);
}

}  // namespace kubepp::cmd
