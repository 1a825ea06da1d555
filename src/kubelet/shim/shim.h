// `kubepp shim`: the monitor process of one container (the conmon model).
// Started by the runtime, it detaches (a new session, reparented to init so
// a kubelet that dies neither kills nor leaks it), becomes the subreaper of
// the container, runs `runc run --detach` (create and start in one runc
// process) with the container's stdout and stderr on pipes it owns, reports "ok <pid>" or "error <message>" on its stdout and
// closes it, then copies the container's output into the log file in the
// CRI format ("<RFC3339Nano> stdout F <line>") until the container exits,
// and writes <state>/exit.json ({"exitCode", "finishedAt", "oomKilled"}).
//
// Attach: the shim listens on <state>/attach.sock. A connection receives the
// container's output live, as frames, and may send frames for its stdin
// (a pipe the shim holds, if the container asked for stdin) or its terminal
// (with tty, runc hands the shim the pty's master through a console socket;
// the terminal's output is the container's stdout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kubepp::kubelet::shim {

struct Options {
  std::string id;         // the runc container id
  std::string bundle;     // holds config.json and rootfs/
  std::string state_dir;  // exit.json, runc.log, shim.pid go here
  std::string log_path;   // the container's log file
  std::string runc = "runc";
  std::string runc_root;  // runc's --root (its state), empty: runc's default
  std::string memory_cgroup;  // the container's memory cgroup dir (OOM kill detection), if any
  bool stdin = false;       // keep a stdin open for attach
  bool stdin_once = false;  // close it when the first attached stdin closes
  bool tty = false;         // the container runs on a terminal
};

// Frames on attach.sock: a type byte, a 32-bit big-endian length, the bytes.
enum class AttachFrame : uint8_t {
  kStdin = 0,       // to the shim: input for the container
  kStdout = 1,      // from the shim: output
  kStderr = 2,      // from the shim: output
  kCloseStdin = 3,  // to the shim: this client's input ended
  kResize = 4,      // to the shim: width, height as two 16-bit big-endian numbers
};
std::string EncodeAttachFrame(AttachFrame type, std::string_view payload);
// Takes one whole frame off the front of `buf`; nullopt until one is there.
std::optional<std::pair<AttachFrame, std::string>> DecodeAttachFrame(std::string* buf);

// Runs the shim (does not return while the container runs); the exit code
// is the process's.
int Run(const Options& options);

// One line of the CRI log format for `content` (without its newline);
// `partial` marks a line split because it was too long.
std::string CriLogLine(std::string_view stream, std::string_view content, bool partial);

}  // namespace kubepp::kubelet::shim
