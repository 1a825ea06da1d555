// Child processes with RAII: a ChildProcess that goes out of scope while its
// process still runs kills it (SIGKILL) and reaps it, so tests never leak
// etcd or kubepp processes. Children also get SIGKILL if this process dies
// (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/status.h"

namespace kubepp {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program; searched in PATH if it has no '/'
  std::vector<std::string> env;   // "K=V" added to (or replacing in) this process' environment
  std::string stdout_path;        // empty: inherit
  std::string stderr_path;        // empty: inherit; "=stdout": same as stdout
  bool pipe_stdout = false;       // stdout readable through stdout_fd() instead
  bool pipe_stderr = false;       // stderr readable through stderr_fd() instead
  bool pipe_stdin = false;        // stdin writable through stdin_fd(); otherwise inherited
  std::string stdin_path;         // stdin read from this file (e.g. /dev/null) unless piped
  int terminal_fd = -1;           // stdin, stdout and stderr on this fd (a pty's slave) unless piped
  bool die_with_parent = true;    // SIGKILL when this process dies (PR_SET_PDEATHSIG)
  bool new_session = false;       // setsid(): no controlling terminal, own process group
  std::string dir;                // working directory; empty: inherit
  int inherit_fd = -1;            // stays open in the child at its number (all others >= 3 close)
};

class ChildProcess {
 public:
  static Result<ChildProcess> Spawn(const SpawnOptions& options);

  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }
  // Read end of the child's stdout when SpawnOptions::pipe_stdout was set.
  int stdout_fd() const { return stdout_.get(); }
  int stderr_fd() const { return stderr_.get(); }
  int stdin_fd() const { return stdin_.get(); }
  // Closes our end of the child's stdin (EOF for the child).
  void CloseStdin() { stdin_.Reset(); }

  Status Signal(int sig);
  // Waits for exit; returns the raw wait status (WIFEXITED/WEXITSTATUS apply).
  Result<int> Wait();
  // Waits up to `timeout`; nullopt if it still runs.
  Result<std::optional<int>> WaitFor(std::chrono::milliseconds timeout);
  // SIGKILL then reap. Returns the wait status.
  Result<int> Kill();
  // The caller reaped the process itself (waitpid on pid()): the destructor
  // leaves it alone.
  void Forget() { exited_ = true; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
  UniqueFd stdout_, stderr_, stdin_;
};

struct CommandResult {
  int exit_code = 0;  // 128 + signal when killed
  std::string out, err;
};

// Runs a command to completion, feeding `input` on stdin and collecting
// stdout and stderr. Timeout (the command killed) after `timeout`.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                 std::string_view input, std::chrono::milliseconds timeout, int inherit_fd = -1);

// The path of the running executable (/proc/self/exe).
std::string SelfExe();

}  // namespace kubepp
