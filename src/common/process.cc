#include "common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>

extern char** environ;

namespace kubepp {

Result<ChildProcess> ChildProcess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::BadRequest("spawn: empty argv");
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& add : options.env) {
      if (std::string_view(add).substr(0, add.find('=')) == key) replaced = true;
    }
    if (!replaced) env_strings.emplace_back(kv);
  }
  for (const auto& add : options.env) env_strings.push_back(add);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::string program = options.argv[0];
  if (program.find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      std::string cand = p.substr(start, end - start) + "/" + program;
      if (::access(cand.c_str(), X_OK) == 0) {
        program = cand;
        break;
      }
      start = end + 1;
    }
    if (program.find('/') == std::string::npos) {
      return Status::NotFound("spawn: " + options.argv[0] + " not found in PATH");
    }
  }

  int pipefd[2] = {-1, -1}, errfd[2] = {-1, -1}, infd[2] = {-1, -1};
  if (options.pipe_stdout && ::pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "", errno);
  if (options.pipe_stderr && ::pipe2(errfd, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "", errno);
  if (options.pipe_stdin && ::pipe2(infd, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "", errno);
  // A second pipe reports an exec failure to the parent.
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe", "", errno);
  pid_t parent = ::getpid();

  pid_t pid = ::vfork();  // no page-table copy: the child only sets up fds and execs
  if (pid < 0) return ErrnoStatus("fork", "", errno);
  if (pid == 0) {
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    if (options.new_session) ::setsid();
    // Nothing of ours but stdio crosses exec (Asio's sockets are not
    // close-on-exec: a long-lived child would keep our ports bound).
    ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
    if (options.inherit_fd >= 3) ::fcntl(options.inherit_fd, F_SETFD, 0);  // our fd table is the child's own
    if (options.terminal_fd >= 0) {
      for (int i = 0; i < 3; ++i) ::dup2(options.terminal_fd, i);
    }
    if (options.pipe_stdin) {
      ::dup2(infd[0], 0);
    } else if (!options.stdin_path.empty()) {
      int fd = ::open(options.stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) ::dup2(fd, 0);
    }
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    if (options.pipe_stdout) {
      ::dup2(pipefd[1], 1);
    } else if (!options.stdout_path.empty()) {
      int fd = ::open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) ::dup2(fd, 1);
    }
    if (options.pipe_stderr) {
      ::dup2(errfd[1], 2);
    } else if (options.stderr_path == "=stdout") {
      ::dup2(1, 2);
    } else if (!options.stderr_path.empty()) {
      int fd = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) ::dup2(fd, 2);
    }
    if (!options.dir.empty() && ::chdir(options.dir.c_str()) != 0) {
      int e = errno;
      (void)!::write(errpipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!::write(errpipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(errpipe[1]);
  if (options.pipe_stdout) ::close(pipefd[1]);
  if (options.pipe_stderr) ::close(errfd[1]);
  if (options.pipe_stdin) ::close(infd[0]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(errpipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  ChildProcess c;
  c.pid_ = pid;
  if (options.pipe_stdout) c.stdout_.Reset(pipefd[0]);
  if (options.pipe_stderr) c.stderr_.Reset(errfd[0]);
  if (options.pipe_stdin) c.stdin_.Reset(infd[1]);
  if (n == sizeof child_errno) {
    (void)c.Wait();
    return ErrnoStatus("exec", program, child_errno);
  }
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(o.pid_),
      exited_(o.exited_),
      wait_status_(o.wait_status_),
      stdout_(std::move(o.stdout_)),
      stderr_(std::move(o.stderr_)),
      stdin_(std::move(o.stdin_)) {
  o.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (running()) (void)Kill();
    pid_ = o.pid_;
    exited_ = o.exited_;
    wait_status_ = o.wait_status_;
    stdout_ = std::move(o.stdout_);
    stderr_ = std::move(o.stderr_);
    stdin_ = std::move(o.stdin_);
    o.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) (void)Kill();
}

Status ChildProcess::Signal(int sig) {
  if (!running()) return Status::OK();
  if (::kill(pid_, sig) != 0 && errno != ESRCH) return ErrnoStatus("kill", "", errno);
  return Status::OK();
}

Result<int> ChildProcess::Wait() {
  if (pid_ <= 0) return Status::BadRequest("wait: no process");
  if (exited_) return wait_status_;
  int st = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &st, 0);
    if (r == pid_) break;
    if (r < 0 && errno == EINTR) continue;
    return ErrnoStatus("waitpid", "", errno);
  }
  exited_ = true;
  wait_status_ = st;
  return st;
}

Result<std::optional<int>> ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return Status::BadRequest("wait: no process");
  if (exited_) return std::optional<int>(wait_status_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto sleep = std::chrono::microseconds(200);
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      wait_status_ = st;
      return std::optional<int>(st);
    }
    if (r < 0 && errno != EINTR) return ErrnoStatus("waitpid", "", errno);
    if (std::chrono::steady_clock::now() >= deadline) return std::optional<int>();
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::microseconds(20000));
  }
}

Result<int> ChildProcess::Kill() {
  RETURN_IF_ERROR(Signal(SIGKILL));
  return Wait();
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                 std::string_view input, std::chrono::milliseconds timeout, int inherit_fd) {
  auto child = ChildProcess::Spawn({.argv = argv,
                                    .env = env,
                                    .pipe_stdout = true,
                                    .pipe_stderr = true,
                                    .pipe_stdin = true,
                                    .inherit_fd = inherit_fd});
  if (!child.ok()) return child.status();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  CommandResult r;
  size_t written = 0;
  if (input.empty()) child->CloseStdin();
  bool out_open = true, err_open = true;
  char buf[16384];
  while (out_open || err_open) {
    std::vector<pollfd> fds;
    if (out_open) fds.push_back({child->stdout_fd(), POLLIN, 0});
    if (err_open) fds.push_back({child->stderr_fd(), POLLIN, 0});
    if (child->stdin_fd() >= 0) fds.push_back({child->stdin_fd(), POLLOUT, 0});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      (void)child->Kill();
      return Status::Timeout(argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("poll", "", errno);
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == child->stdin_fd()) {
        ssize_t w = ::write(p.fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == input.size()) child->CloseStdin();
        continue;
      }
      ssize_t got = ::read(p.fd, buf, sizeof buf);
      if (got > 0) {
        (p.fd == child->stdout_fd() ? r.out : r.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (p.fd == child->stdout_fd() ? out_open : err_open) = false;
      }
    }
  }
  child->CloseStdin();
  auto st = child->Wait();
  if (!st.ok()) return st.status();
  r.exit_code = WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
  return r;
}

}  // namespace kubepp
