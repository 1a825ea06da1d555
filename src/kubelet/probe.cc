#include "kubelet/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "api/object.h"
#include "common/file.h"
#include "common/http_client.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;

// A port number, or a named container port.
int ResolvePort(const bj::value* v, const bj::object& container) {
  if (v == nullptr) return 0;
  if (v->is_int64()) return static_cast<int>(v->as_int64());
  if (!v->is_string()) return 0;
  std::string_view name = v->get_string();
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos) return std::atoi(std::string(name).c_str());
  if (const auto* ports = api::ArrAt(container, {"ports"})) {
    for (const auto& p : *ports) {
      if (p.is_object() && api::StrAt(p.get_object(), {"name"}) == name) {
        return static_cast<int>(api::IntAt(p.get_object(), {"containerPort"}).value_or(0));
      }
    }
  }
  return 0;
}

// Connects with a deadline; the fd or -1 (errno set).
int Connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    ::close(fd);
    errno = ETIMEDOUT;
    return -1;
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

}  // namespace

ProbeResult RunProbe(const bj::object& probe, const bj::object& container, const std::string& pod_ip,
                     const std::string& container_id, runtime::RuntimeService* runtime, std::chrono::milliseconds timeout) {
  if (const auto* ex = api::ObjAt(probe, {"exec"})) {
    std::vector<std::string> cmd;
    if (const auto* a = api::ArrAt(*ex, {"command"})) {
      for (const auto& v : *a) {
        if (v.is_string()) cmd.emplace_back(v.get_string());
      }
    }
    auto r = runtime->ExecSync(container_id, cmd, timeout);
    if (!r.ok()) {
      if (r.status().code() == Code::kTimeout) return {false, "command timed out"};
      return {false, r.status().message()};
    }
    if (r->exit_code != 0) {
      std::string out = r->out + r->err;
      return {false, out.empty() ? "command failed with exit code " + std::to_string(r->exit_code) : out};
    }
    return {true, ""};
  }
  if (const auto* hg = api::ObjAt(probe, {"httpGet"})) {
    int port = ResolvePort(api::At(*hg, {"port"}), container);
    std::string host(api::StrAt(*hg, {"host"}));
    if (host.empty()) host = pod_ip;
    std::string path(api::StrAt(*hg, {"path"}, "/"));
    if (path.empty() || path.front() != '/') path = "/" + path;
    http::Endpoint ep;
    ep.host = host;
    ep.port = port;
    if (api::StrAt(*hg, {"scheme"}) == "HTTPS") {
      ep.tls = true;
      auto tls = std::make_shared<http::TlsClientConfig>();
      tls->insecure_skip_verify = true;
      ep.tls_config = tls;
    }
    std::string url = std::string(ep.tls ? "https" : "http") + "://" + host + ":" + std::to_string(port) + path;
    auto conn = http::Connection::Open(ep, timeout);
    if (!conn.ok()) return {false, "Get \"" + url + "\": " + conn.status().message()};
    http::Request req;
    req.method = "GET";
    req.target = path;
    req.headers = {{"Host", host + ":" + std::to_string(port)}, {"User-Agent", "kube-probe/1.32"}, {"Accept", "*/*"}};
    if (const auto* hs = api::ArrAt(*hg, {"httpHeaders"})) {
      for (const auto& h : *hs) {
        if (h.is_object()) req.headers.push_back({std::string(api::StrAt(h.get_object(), {"name"})),
                                                  std::string(api::StrAt(h.get_object(), {"value"}))});
      }
    }
    auto r = (*conn)->RoundTrip(req);
    if (!r.ok()) return {false, "Get \"" + url + "\": " + r.status().message()};
    if (r->status >= 200 && r->status < 400) return {true, ""};
    return {false, "HTTP probe failed with statuscode: " + std::to_string(r->status)};
  }
  if (const auto* ts = api::ObjAt(probe, {"tcpSocket"})) {
    int port = ResolvePort(api::At(*ts, {"port"}), container);
    std::string host(api::StrAt(*ts, {"host"}));
    if (host.empty()) host = pod_ip;
    int fd = Connect(host, port, timeout);
    if (fd < 0) {
      return {false, "dial tcp " + host + ":" + std::to_string(port) + ": connect: " + std::strerror(errno)};
    }
    ::close(fd);
    return {true, ""};
  }
  if (api::ObjAt(probe, {"sleep"}) != nullptr) {  // lifecycle hooks only
    return {true, ""};
  }
  return {false, "probe type not supported by this kubelet"};
}

}  // namespace kubepp::kubelet
