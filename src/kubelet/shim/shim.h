// `kubepp shim`: the monitor process of one container (the conmon model).
// Started by the runtime, it detaches (a new session, reparented to init so
// a kubelet that dies neither kills nor leaks it), becomes the subreaper of
// the container, runs `runc create` with the container's stdout and stderr
// on pipes it owns, reports "ok <pid>" or "error <message>" on its stdout and
// closes it, then copies the container's output into the log file in the
// CRI format ("<RFC3339Nano> stdout F <line>") until the container exits,
// and writes <state>/exit.json ({"exitCode", "finishedAt", "oomKilled"}).
#pragma once

#include <string>

namespace kubepp::kubelet::shim {

struct Options {
  std::string id;         // the runc container id
  std::string bundle;     // holds config.json and rootfs/
  std::string state_dir;  // exit.json, runc.log, shim.pid go here
  std::string log_path;   // the container's log file
  std::string runc = "runc";
  std::string runc_root;  // runc's --root (its state), empty: runc's default
  std::string memory_cgroup;  // the container's memory cgroup dir (OOM kill detection), if any
};

// Runs the shim (does not return while the container runs); the exit code
// is the process's.
int Run(const Options& options);

// One line of the CRI log format for `content` (without its newline);
// `partial` marks a line split because it was too long.
std::string CriLogLine(std::string_view stream, std::string_view content, bool partial);

}  // namespace kubepp::kubelet::shim
