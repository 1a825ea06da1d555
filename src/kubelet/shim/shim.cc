#include "kubelet/shim/shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/file.h"
#include "common/json.h"

namespace kubepp::kubelet::shim {
namespace {

constexpr size_t kMaxLine = 16 * 1024;  // longer lines are split (P), as upstream's 16 KiB

std::string NowRfc3339Nano() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

void Report(int fd, const std::string& line) {
  if (fd < 0) return;
  (void)WriteAll(fd, line + "\n");
  ::close(fd);
}

// The last error runc logged (its --log is JSON lines: {"level","msg"}).
std::string RuncError(const std::string& log) {
  auto text = ReadFile(log);
  if (!text.ok()) return "";
  std::string last;
  size_t i = 0;
  while (i < text->size()) {
    size_t j = text->find('\n', i);
    if (j == std::string::npos) j = text->size();
    auto v = json::Parse(std::string_view(*text).substr(i, j - i));
    if (v.ok() && json::GetString(*v, "level") == "error") last = std::string(json::GetString(*v, "msg"));
    i = j + 1;
  }
  return last;
}

struct Stream {
  const char* name;
  int fd;
  std::string pending;
};

void Flush(Stream& s, int log_fd, bool eof) {
  size_t start = 0;
  for (;;) {
    size_t nl = s.pending.find('\n', start);
    if (nl == std::string::npos) break;
    (void)WriteAll(log_fd, CriLogLine(s.name, std::string_view(s.pending).substr(start, nl - start), false));
    start = nl + 1;
  }
  s.pending.erase(0, start);
  while (s.pending.size() >= kMaxLine) {
    (void)WriteAll(log_fd, CriLogLine(s.name, std::string_view(s.pending).substr(0, kMaxLine), true));
    s.pending.erase(0, kMaxLine);
  }
  if (eof && !s.pending.empty()) {
    // A last line without its newline: partial, as upstream writes it.
    (void)WriteAll(log_fd, CriLogLine(s.name, s.pending, true));
    s.pending.clear();
  }
}

bool OomKilled(const std::string& memory_cgroup) {
  if (memory_cgroup.empty()) return false;
  auto text = ReadFile(memory_cgroup + "/memory.oom_control");  // v1
  if (text.ok()) {
    size_t p = text->find("oom_kill ");
    return p != std::string::npos && std::atol(text->c_str() + p + 9) > 0;
  }
  text = ReadFile(memory_cgroup + "/memory.events");  // v2
  if (text.ok()) {
    size_t p = text->find("oom_kill ");
    return p != std::string::npos && std::atol(text->c_str() + p + 9) > 0;
  }
  return false;
}

}  // namespace

std::string CriLogLine(std::string_view stream, std::string_view content, bool partial) {
  std::string line = NowRfc3339Nano();
  line += ' ';
  line += stream;
  line += partial ? " P " : " F ";
  line += content;
  line += '\n';
  return line;
}

int Run(const Options& o) {
  // Detach: the runtime reaps this first process at once; the second lives on.
  pid_t first = ::fork();
  if (first < 0) {
    Report(1, std::string("error fork: ") + std::strerror(errno));
    return 1;
  }
  if (first > 0) _exit(0);
  ::setsid();
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  int report_fd = ::dup(1);
  // Our own stdio: nothing (the runtime's pipe is report_fd).
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(devnull, 0);
  ::dup2(devnull, 1);
  ::dup2(devnull, 2);
  (void)WriteFile(o.state_dir + "/shim.pid", std::to_string(::getpid()));

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    Report(report_fd, std::string("error pipe: ") + std::strerror(errno));
    return 1;
  }
  std::string pid_file = o.state_dir + "/init.pid";
  std::string runc_log = o.state_dir + "/runc.log";
  std::vector<std::string> args = {o.runc};
  if (!o.runc_root.empty()) args.insert(args.end(), {"--root", o.runc_root});
  args.insert(args.end(), {"--log", runc_log, "--log-format", "json", "create", "--bundle", o.bundle, "--pid-file",
                           pid_file, o.id});
  pid_t runc = ::fork();
  if (runc < 0) {
    Report(report_fd, std::string("error fork: ") + std::strerror(errno));
    return 1;
  }
  if (runc == 0) {
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  int status = 0;
  while (::waitpid(runc, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg = RuncError(runc_log);
    if (msg.empty()) msg = "runc create failed (status " + std::to_string(status) + ")";
    Report(report_fd, "error " + msg);
    return 1;
  }
  auto pid_text = ReadFile(pid_file);
  pid_t init = pid_text.ok() ? static_cast<pid_t>(std::atol(pid_text->c_str())) : 0;
  Report(report_fd, "ok " + std::to_string(init));

  UniqueFd log(::open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  Stream streams[2] = {{"stdout", out[0], {}}, {"stderr", err[0], {}}};
  int open_streams = 2;
  bool exited = false;
  int exit_code = 0;
  char buf[65536];
  // Children's exits arrive on a signalfd, so the loop sleeps in poll until
  // output or an exit: an idle container costs its shim nothing.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sigfd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  auto reap = [&] {
    for (;;) {
      int st = 0;
      pid_t p = ::waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == init) {
        exited = true;
        exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
  };
  reap();  // an exit before the signalfd existed
  // Until the container's init exits and both pipes are drained.
  while (open_streams > 0 || !exited) {
    std::vector<pollfd> fds;
    for (auto& s : streams) {
      if (s.fd >= 0) fds.push_back({s.fd, POLLIN, 0});
    }
    if (!exited && sigfd >= 0) fds.push_back({sigfd, POLLIN, 0});
    // After init's exit the pipes get a short while to drain (holders die
    // with the pid namespace); a lost init is looked for every few seconds.
    int timeout = exited ? 200 : (sigfd >= 0 ? 5000 : 100);
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) break;
    if (n == 0 && exited) break;
    if (!exited) {
      if (sigfd >= 0) {
        signalfd_siginfo si;
        while (::read(sigfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        }
      }
      reap();
      if (!exited && init > 0 && ::kill(init, 0) != 0 && errno == ESRCH) {
        exited = true;  // not our child after all (adopted by another reaper)
        exit_code = 255;
      }
    }
    for (auto& pf : fds) {
      if (pf.revents == 0 || pf.fd == sigfd) continue;
      for (auto& s : streams) {
        if (s.fd != pf.fd) continue;
        ssize_t got = ::read(s.fd, buf, sizeof buf);
        if (got > 0) {
          s.pending.append(buf, static_cast<size_t>(got));
          if (log.valid()) Flush(s, log.get(), false);
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          if (log.valid()) Flush(s, log.get(), true);
          ::close(s.fd);
          s.fd = -1;
          --open_streams;
        }
      }
    }
    if (fds.empty()) ::usleep(20000);
  }
  for (auto& s : streams) {
    if (s.fd >= 0 && log.valid()) Flush(s, log.get(), true);
  }
  bool oom = OomKilled(o.memory_cgroup);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t finished = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  std::string exit_json = "{\"exitCode\":" + std::to_string(exit_code) + ",\"finishedAt\":" + std::to_string(finished) +
                          ",\"oomKilled\":" + (oom ? "true" : "false") + "}";
  (void)WriteFileAtomic(o.state_dir + "/exit.json", exit_json, 0600);
  return 0;
}

}  // namespace kubepp::kubelet::shim
