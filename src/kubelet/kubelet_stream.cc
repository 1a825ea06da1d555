// The kubelet API's streaming endpoints: /exec and /attach run a session
// of kubelet/server/streaming.h against a command started with runc (exec)
// or a container's own stdio through its shim (attach); /portForward
// connects to ports inside the pod's network namespace.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/object.h"
#include "apiserver/http/server.h"
#include "common/file.h"
#include "common/log.h"
#include "common/url.h"
#include "kubelet/kubelet.h"
#include "kubelet/kubelet_util.h"
#include "kubelet/server/streaming.h"
#include "kubelet/shim/shim.h"

namespace kubepp::kubelet {
namespace {

using server::StreamTarget;

std::string Transport(const server::Negotiated& n) {
  return std::string(n.transport == server::Negotiated::kSpdy ? "spdy " : "websocket ") + n.protocol;
}


// An exec: the command's stdio through runc. A terminal exec starts once
// the client's terminal size is known (kubectl sends it first thing), so
// the command sees its real size from the start; without it after a moment.
class ExecTarget : public StreamTarget {
 public:
  using Process = runtime::RuntimeService::ExecProcess;
  using Starter = std::function<Result<std::unique_ptr<Process>>(runtime::TerminalSize)>;
  explicit ExecTarget(std::unique_ptr<Process> p) : proc_(std::move(p)) {}
  explicit ExecTarget(Starter start) : start_(std::move(start)) {}

  void WriteStdin(std::string_view data) override {
    std::unique_lock<std::mutex> l(mu_);
    if (!proc_ || flushing_) {
      // Not started yet, or what came before is still being written: queue
      // it behind, in order (bounded: a client that floods a command that
      // has not started loses the excess).
      if (pending_stdin_.size() + data.size() <= kMaxPending) pending_stdin_ += data;
      return;
    }
    Process* p = proc_.get();
    l.unlock();
    if (p->stdin_fd() >= 0) (void)WriteAll(p->stdin_fd(), data);
  }
  void CloseStdin() override {
    std::lock_guard<std::mutex> l(mu_);
    if (!proc_ || flushing_) {
      close_stdin_ = true;
      return;
    }
    proc_->CloseStdin();
  }
  void Resize(uint16_t w, uint16_t h) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!proc_) {
      size_ = {w, h};
      sized_ = true;
      cv_.notify_all();
      return;
    }
    proc_->Resize(w, h);
  }
  void Cancel() override {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    cv_.notify_all();
    if (proc_) proc_->Hangup();
  }
  void PumpOutput(const std::function<bool(int, std::string_view)>& emit) override {
    if (!start_) return Pump(emit, nullptr);
    runtime::TerminalSize size;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::seconds(1), [&] { return sized_ || cancelled_; });
      if (cancelled_) {
        exit_ = Status::Cancelled("the client went away");
        return;
      }
      size = size_;
    }
    auto p = start_(size);  // not under mu_: the connection's reader must not wait on runc
    if (!p.ok()) {
      exit_ = Status::Internal("error executing command in container: " + p.status().message());
      return;
    }
    bool cancelled;
    {
      std::lock_guard<std::mutex> l(mu_);
      proc_ = std::move(*p);
      flushing_ = true;
      cancelled = cancelled_;
    }
    if (cancelled) proc_->Hangup();
    // Once output is being read (a terminal echoes input), the input that
    // came early goes in, ahead of anything newer.
    Pump(emit, [this] {
      for (;;) {
        std::string chunk;
        bool close = false;
        {
          std::lock_guard<std::mutex> l(mu_);
          chunk.swap(pending_stdin_);
          if (chunk.empty()) {
            flushing_ = false;
            close = close_stdin_;
          }
        }
        if (chunk.empty()) {
          if (close) proc_->CloseStdin();
          return;
        }
        if (proc_->stdin_fd() >= 0) (void)WriteAll(proc_->stdin_fd(), chunk);
      }
    });
  }
  Result<int> Wait() override { return exit_; }

 private:
  static constexpr size_t kMaxPending = 1 << 20;

  // Relays output until it ends; `started` runs once the readers are up.
  void Pump(const std::function<bool(int, std::string_view)>& emit, const std::function<void()>& started) {
    // Output ends at EOF (runc gone, and with it every writer of our pipes),
    // or when the command has exited and nothing more came for a moment.
    std::atomic<bool> exited{false};
    std::mutex emit_mu;
    auto reader = [&](int fd, int ch) {
      bool listening = true;
      char buf[32 << 10];
      for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = ::poll(&p, 1, 200);
        if (r == 0) {
          if (exited.load()) return;
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // EOF, or EIO from a terminal whose other side closed
        if (listening) {
          std::lock_guard<std::mutex> l(emit_mu);
          listening = emit(ch, std::string_view(buf, static_cast<size_t>(n)));
        }
      }
    };
    std::vector<std::thread> readers;
    if (proc_->stdout_fd() >= 0) readers.emplace_back(reader, proc_->stdout_fd(), 1);
    if (proc_->stderr_fd() >= 0) readers.emplace_back(reader, proc_->stderr_fd(), 2);
    if (started) started();
    exit_ = proc_->Wait();
    exited = true;
    for (auto& t : readers) t.join();
  }

  Starter start_;  // set: not started yet
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<Process> proc_;  // GUARDED_BY(mu_) until set; never reset
  std::string pending_stdin_;
  bool close_stdin_ = false;
  bool flushing_ = false;  // early input is being written: newer input queues behind
  bool sized_ = false;
  bool cancelled_ = false;
  runtime::TerminalSize size_;
  Result<int> exit_ = Status::Internal("not run");
};

// An attach: frames to and from the container's shim.
class AttachTarget : public StreamTarget {
 public:
  explicit AttachTarget(UniqueFd fd) : fd_(std::move(fd)) {}
  void WriteStdin(std::string_view data) override { Send(shim::AttachFrame::kStdin, data); }
  void CloseStdin() override { Send(shim::AttachFrame::kCloseStdin, ""); }
  void Resize(uint16_t w, uint16_t h) override {
    char p[4] = {static_cast<char>(w >> 8), static_cast<char>(w & 0xff), static_cast<char>(h >> 8),
                 static_cast<char>(h & 0xff)};
    Send(shim::AttachFrame::kResize, std::string_view(p, 4));
  }
  void PumpOutput(const std::function<bool(int, std::string_view)>& emit) override {
    std::string buf;
    char chunk[32 << 10];
    for (;;) {
      ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the container ended, or the client went away
      buf.append(chunk, static_cast<size_t>(n));
      while (auto f = shim::DecodeAttachFrame(&buf)) {
        int ch = f->first == shim::AttachFrame::kStderr ? 2 : 1;
        if (!emit(ch, f->second)) return;
      }
    }
  }
  Result<int> Wait() override { return 0; }
  void Cancel() override { ::shutdown(fd_.get(), SHUT_RDWR); }

 private:
  void Send(shim::AttachFrame type, std::string_view data) {
    std::lock_guard<std::mutex> l(mu_);
    (void)WriteAll(fd_.get(), shim::EncodeAttachFrame(type, data));
  }
  std::mutex mu_;
  UniqueFd fd_;
};

}  // namespace

void Kubelet::ServeExec(const std::shared_ptr<apiserver::http::Exchange>& ex, const std::string& ns,
                        const std::string& name, const std::string& container, bool attach) {
  const auto& req = ex->request();
  client::ObjectPtr pod = pods_->Get(ns + "/" + name);
  if (pod == nullptr) return RespondStatus(ex, 404, "NotFound", "pod \"" + name + "\" not found");
  if (ContainerSpec(*pod, container, nullptr) == nullptr) {
    return RespondStatus(ex, 400, "BadRequest", "container " + container + " is not valid for pod " + name);
  }
  auto opts = server::StreamOptions::FromQuery(req.query);
  if (!opts.stdin && !opts.stdout && !opts.stderr) {
    return RespondStatus(ex, 400, "BadRequest", "you must specify at least one of stdin, stdout, stderr");
  }
  std::vector<std::string> cmd = Query::Parse(req.query).GetAll("command");
  if (!attach && cmd.empty()) return RespondStatus(ex, 400, "BadRequest", "you must specify at least 1 command");
  std::string id;
  for (const auto& c : PodContainers(std::string(api::Uid(*pod)))) {
    if (c.name == container && c.state == runtime::ContainerState::kRunning) {
      id = c.id;
      break;
    }
  }
  if (id.empty()) {
    return RespondStatus(ex, 400, "BadRequest", "unable to upgrade connection: container not found (\"" + container + "\")");
  }
  auto proto = server::Negotiate(req, /*portforward=*/false);
  if (!proto.ok()) return RespondStatus(ex, 400, "BadRequest", proto.status().message());
  std::unique_ptr<StreamTarget> target;
  if (attach) {
    auto fd = runtime_->Attach(id);
    if (!fd.ok()) return RespondStatus(ex, 500, "InternalError", "error attaching to container: " + fd.status().message());
    target = std::make_unique<AttachTarget>(std::move(*fd));
  } else if (opts.tty) {
    target = std::make_unique<ExecTarget>([rt = runtime_, id, cmd, stdin = opts.stdin](runtime::TerminalSize size) {
      return rt->Exec(id, cmd, true, stdin, size);
    });
  } else {
    auto proc = runtime_->Exec(id, cmd, opts.tty, opts.stdin);
    if (!proc.ok()) {
      return RespondStatus(ex, 500, "InternalError", "error executing command in container: " + proc.status().message());
    }
    target = std::make_unique<ExecTarget>(std::move(*proc));
  }
  auto conn = ex->Hijack();
  if (conn == nullptr) return;
  if (!conn->Write(proto->response)) return conn->Close();
  KubeletLog().Info(attach ? "attach" : "exec",
             {{"pod", ns + "/" + name}, {"container", container}, {"protocol", Transport(*proto)}});
  std::thread([proto = std::move(*proto), conn, opts, t = std::move(target)]() mutable {
    server::ServeRemoteCommand(proto, conn, opts, std::move(t));
  }).detach();
}

void Kubelet::ServePortForward(const std::shared_ptr<apiserver::http::Exchange>& ex, const std::string& ns,
                               const std::string& name) {
  const auto& req = ex->request();
  client::ObjectPtr pod = pods_->Get(ns + "/" + name);
  if (pod == nullptr) return RespondStatus(ex, 404, "NotFound", "pod \"" + name + "\" not found");
  std::string netns;
  bool found = false;
  for (const auto& s : runtime_->ListPodSandboxes({{kPodUidLabel, std::string(api::Uid(*pod))}})) {
    if (s.state != runtime::SandboxState::kReady) continue;
    auto n = runtime_->SandboxNetNs(s.id);
    if (!n.ok()) continue;
    netns = *n;
    found = true;
    break;
  }
  if (!found) {
    return RespondStatus(ex, 400, "BadRequest", "unable to do port forwarding: pod " + name + " has no running sandbox");
  }
  auto proto = server::Negotiate(req, /*portforward=*/true);
  if (!proto.ok()) return RespondStatus(ex, 400, "BadRequest", proto.status().message());
  std::vector<uint16_t> ports;
  Query q = Query::Parse(req.query);
  for (const char* key : {"ports", "port"}) {
    for (const auto& v : q.GetAll(key)) {  // "80,8080" as one value or several
      size_t start = 0;
      while (start <= v.size()) {
        size_t e = v.find(',', start);
        if (e == std::string::npos) e = v.size();
        std::string one = v.substr(start, e - start);
        start = e + 1;
        if (one.empty()) continue;
        int n = std::atoi(one.c_str());
        if (n <= 0 || n > 65535 || one.find_first_not_of("0123456789") != std::string::npos) {
          return RespondStatus(ex, 400, "BadRequest", "unable to parse \"" + one + "\" as a port: invalid port");
        }
        ports.push_back(static_cast<uint16_t>(n));
      }
    }
  }
  if (proto->transport == server::Negotiated::kWebSocket && proto->protocol != "SPDY/3.1+portforward.k8s.io" &&
      ports.empty()) {
    return RespondStatus(ex, 400, "BadRequest", "query parameter \"port\" is required");
  }
  auto conn = ex->Hijack();
  if (conn == nullptr) return;
  if (!conn->Write(proto->response)) return conn->Close();
  KubeletLog().Info("port-forward", {{"pod", ns + "/" + name}, {"protocol", Transport(*proto)}});
  std::thread([proto = std::move(*proto), conn, ports, netns] {
    server::ServePortForward(proto, conn, ports, [netns](uint16_t port) { return server::DialInNetns(netns, port); });
  }).detach();
}

}  // namespace kubepp::kubelet
