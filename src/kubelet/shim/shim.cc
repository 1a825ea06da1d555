#include "kubelet/shim/shim.h"

#include "kubelet/runtime/runc/runc_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
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

// Nanoseconds since the epoch (the start and end times of exit.json's kind).
int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

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

// A listening unix socket at `path` (relative: the shim runs in its state
// dir, so paths stay short of the 108-byte limit).
int Listen(const char* path) {
  ::unlink(path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  ::chmod(path, 0600);
  return fd;
}

// Receives the terminal master runc sends on the console socket (SCM_RIGHTS).
int ReceiveFd(int conn) {
  char data[256];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return fd;
    }
  }
  return -1;
}

// One attach.sock connection.
struct Client {
  int fd;
  std::string in;  // bytes read, not yet a whole frame
  bool sent_stdin = false;
};

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

std::string EncodeAttachFrame(AttachFrame type, std::string_view payload) {
  std::string f;
  f.reserve(payload.size() + 5);
  f.push_back(static_cast<char>(type));
  auto n = static_cast<uint32_t>(payload.size());
  for (int i = 3; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  f.append(payload);
  return f;
}

std::optional<std::pair<AttachFrame, std::string>> DecodeAttachFrame(std::string* buf) {
  if (buf->size() < 5) return std::nullopt;
  uint32_t n = 0;
  for (int i = 1; i <= 4; ++i) n = (n << 8) | static_cast<uint8_t>((*buf)[i]);
  if (buf->size() < 5 + size_t{n}) return std::nullopt;
  auto out = std::make_pair(static_cast<AttachFrame>((*buf)[0]), buf->substr(5, n));
  buf->erase(0, 5 + size_t{n});
  return out;
}

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
  if (::chdir(o.state_dir.c_str()) != 0) {
    Report(report_fd, "error chdir " + o.state_dir + ": " + std::strerror(errno));
    return 1;
  }
  // The container's stdin: a pipe we keep the write end of, or nothing.
  int in[2] = {-1, -1};
  if (o.stdin && !o.tty && ::pipe2(in, O_CLOEXEC) != 0) {
    Report(report_fd, std::string("error pipe: ") + std::strerror(errno));
    return 1;
  }
  int console_listener = -1;
  if (o.tty) {
    console_listener = Listen("console.sock");
    if (console_listener < 0) {
      Report(report_fd, std::string("error console socket: ") + std::strerror(errno));
      return 1;
    }
  }
  // Listening before the container runs: `runc run` starts it, and an
  // attach may come as soon as the runtime hears "ok".
  int attach_listener = Listen("attach.sock");
  std::vector<std::string> args = {o.runc};
  if (!o.runc_root.empty()) args.insert(args.end(), {"--root", o.runc_root});
  args.insert(args.end(), {"--log", runc_log, "--log-format", "json", "run", "--detach", "--bundle", o.bundle, "--pid-file",
                           pid_file});
  if (o.tty) {
    // runc dials it from the bundle (it changes into it): absolute if that
    // fits a socket address, else relative from the bundle.
    std::string path = o.state_dir + "/console.sock";
    if (path.size() >= sizeof(sockaddr_un{}.sun_path) && o.bundle == o.state_dir + "/bundle") path = "../console.sock";
    args.insert(args.end(), {"--console-socket", path});
  }
  args.push_back(o.id);
  pid_t runc = ::fork();
  if (runc < 0) {
    Report(report_fd, std::string("error fork: ") + std::strerror(errno));
    return 1;
  }
  if (runc == 0) {
    ::dup2(in[0] >= 0 ? in[0] : devnull, 0);
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
  if (in[0] >= 0) ::close(in[0]);
  int status = 0;
  bool reaped = false;
  int master = -1;
  if (o.tty) {
    // runc connects while it creates the container and sends the master.
    for (int waited = 0; master < 0 && waited < 60000 && !reaped; waited += 100) {
      pollfd p{console_listener, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        int c = ::accept4(console_listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          master = ReceiveFd(c);
          ::close(c);
        }
      }
      if (master < 0 && ::waitpid(runc, &status, WNOHANG) == runc) reaped = true;
    }
    ::close(console_listener);
    ::unlink("console.sock");
  }
  while (!reaped && ::waitpid(runc, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg = runtime::runc::RuncError(runc_log);
    if (msg.empty()) msg = "runc run failed (status " + std::to_string(status) + ")";
    Report(report_fd, "error " + msg);
    return 1;
  }
  auto pid_text = ReadFile(pid_file);
  pid_t init = pid_text.ok() ? static_cast<pid_t>(std::atol(pid_text->c_str())) : 0;
  if (o.tty && master < 0) {
    Report(report_fd, "error runc sent no terminal");
    return 1;
  }
  // When it started, by the clock that stamps its end below: a container
  // that exits at once still finishes after it started.
  Report(report_fd, "ok " + std::to_string(init) + " " + std::to_string(NowNs()));

  UniqueFd log(::open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  // With tty, the terminal is the container's output (runc's own pipes only
  // carry runc's messages, and end with it).
  Stream streams[3] = {{"stdout", out[0], {}}, {"stderr", err[0], {}}, {"stdout", master, {}}};
  int open_streams = master >= 0 ? 3 : 2;
  // Where attached input goes: the terminal, or the stdin pipe.
  int stdin_fd = master >= 0 ? master : in[1];
  if (master >= 0) ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  if (in[1] >= 0) ::fcntl(in[1], F_SETFL, ::fcntl(in[1], F_GETFL) | O_NONBLOCK);
  std::string stdin_pending;
  std::vector<Client> clients;
  auto drop_client = [&](size_t i) {
    ::close(clients[i].fd);
    clients.erase(clients.begin() + static_cast<long>(i));
  };
  auto close_stdin = [&] {
    if (stdin_fd >= 0 && stdin_fd != master) {
      ::close(stdin_fd);
      stdin_fd = -1;
      stdin_pending.clear();
    }
  };
  // A client's end of input closes stdin once what it sent is written (the
  // data and the close often arrive in one read).
  bool stdin_closing = false;
  auto finish_stdin = [&] {
    if (stdin_pending.empty()) {
      close_stdin();
    } else {
      stdin_closing = true;
    }
  };
  // Output goes to every attached client; one that cannot take it whole
  // now is dropped (a frame half-sent would garble its stream).
  auto broadcast = [&](int stream_index, const char* data, size_t n) {
    if (clients.empty()) return;
    std::string f = EncodeAttachFrame(stream_index == 1 ? AttachFrame::kStderr : AttachFrame::kStdout,
                                      std::string_view(data, n));
    for (size_t i = clients.size(); i-- > 0;) {
      ssize_t w = ::send(clients[i].fd, f.data(), f.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w != static_cast<ssize_t>(f.size())) drop_client(i);
    }
  };
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
    size_t attach_at = fds.size();
    if (!exited && attach_listener >= 0) fds.push_back({attach_listener, POLLIN, 0});
    size_t clients_at = fds.size();
    for (const auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    size_t stdin_at = fds.size();
    if (!stdin_pending.empty() && stdin_fd >= 0) fds.push_back({stdin_fd, POLLOUT, 0});
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
    for (size_t k = 0; k < attach_at; ++k) {
      const pollfd& pf = fds[k];
      if (pf.revents == 0 || pf.fd == sigfd) continue;
      for (int si = 0; si < 3; ++si) {
        Stream& s = streams[si];
        if (s.fd != pf.fd) continue;
        ssize_t got = ::read(s.fd, buf, sizeof buf);
        if (got > 0) {
          s.pending.append(buf, static_cast<size_t>(got));
          if (log.valid()) Flush(s, log.get(), false);
          broadcast(si, buf, static_cast<size_t>(got));
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          if (log.valid()) Flush(s, log.get(), true);
          if (s.fd != master) ::close(s.fd);
          s.fd = -1;
          --open_streams;
        }
      }
    }
    if (stdin_at < fds.size() && fds[stdin_at].revents != 0) {
      ssize_t w = ::write(stdin_fd, stdin_pending.data(), stdin_pending.size());
      if (w > 0) stdin_pending.erase(0, static_cast<size_t>(w));
      if (w < 0 && errno != EAGAIN && errno != EINTR) close_stdin();
    }
    // Attached clients' input, in the order the poll set has them.
    for (size_t k = clients_at; k < stdin_at; ++k) {
      if (fds[k].revents == 0) continue;
      // Find the client by fd: drops below shift the vector.
      size_t ci = 0;
      while (ci < clients.size() && clients[ci].fd != fds[k].fd) ++ci;
      if (ci == clients.size()) continue;
      Client& c = clients[ci];
      ssize_t got = ::read(c.fd, buf, sizeof buf);
      bool gone = got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN);
      if (got > 0) c.in.append(buf, static_cast<size_t>(got));
      while (auto f = DecodeAttachFrame(&c.in)) {
        if (f->first == AttachFrame::kStdin && stdin_fd >= 0) {
          c.sent_stdin = true;
          if (stdin_pending.size() < (1 << 20)) stdin_pending += f->second;
        } else if (f->first == AttachFrame::kCloseStdin) {
          if (o.stdin_once) finish_stdin();
        } else if (f->first == AttachFrame::kResize && master >= 0 && f->second.size() == 4) {
          auto u16 = [&](int at) {
            return static_cast<unsigned short>((static_cast<uint8_t>(f->second[at]) << 8) | static_cast<uint8_t>(f->second[at + 1]));
          };
          struct winsize ws = {};
          ws.ws_col = u16(0);
          ws.ws_row = u16(2);
          ::ioctl(master, TIOCSWINSZ, &ws);
        }
      }
      if (gone) {
        if (c.sent_stdin && o.stdin_once) finish_stdin();
        drop_client(ci);
      }
    }
    if (!stdin_pending.empty() && stdin_fd >= 0) {
      ssize_t w = ::write(stdin_fd, stdin_pending.data(), stdin_pending.size());
      if (w > 0) stdin_pending.erase(0, static_cast<size_t>(w));
    }
    if (stdin_closing && stdin_pending.empty()) close_stdin();
    if (attach_at < clients_at && fds[attach_at].revents != 0) {
      for (;;) {
        int c = ::accept4(attach_listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) break;
        clients.push_back({c, {}, false});
      }
    }
    if (fds.empty()) ::usleep(20000);
  }
  for (auto& s : streams) {
    if (s.fd >= 0 && log.valid()) Flush(s, log.get(), true);
  }
  // Attached clients see the end of the output.
  for (size_t i = clients.size(); i-- > 0;) drop_client(i);
  if (attach_listener >= 0) ::close(attach_listener);
  ::unlink("attach.sock");
  bool oom = OomKilled(o.memory_cgroup);
  int64_t finished = NowNs();
  std::string exit_json = "{\"exitCode\":" + std::to_string(exit_code) + ",\"finishedAt\":" + std::to_string(finished) +
                          ",\"oomKilled\":" + (oom ? "true" : "false") + "}";
  (void)WriteFileAtomic(o.state_dir + "/exit.json", exit_json, 0600);
  return 0;
}

}  // namespace kubepp::kubelet::shim
