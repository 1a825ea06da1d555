#include "kubelet/server/streaming.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "common/base64.h"
#include "common/json.h"
#include "common/url.h"
#include "kubelet/server/spdy.h"
#include "kubelet/server/websocket.h"

namespace kubepp::kubelet::server {
namespace {

namespace bj = boost::json;

constexpr auto kStreamCreationTimeout = std::chrono::seconds(30);
constexpr auto kCloseGrace = std::chrono::seconds(5);

// Exec/attach channel protocols we speak, best first.
const std::vector<std::string> kWsExec = {"v5.channel.k8s.io",        "v4.channel.k8s.io", "v3.channel.k8s.io",
                                          "v2.channel.k8s.io",        "channel.k8s.io",    "v4.base64.channel.k8s.io",
                                          "v3.base64.channel.k8s.io", "v2.base64.channel.k8s.io", "base64.channel.k8s.io"};
const std::vector<std::string> kSpdyExec = {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                                            "channel.k8s.io"};
const std::vector<std::string> kWsPortForward = {"SPDY/3.1+portforward.k8s.io", "v4.channel.k8s.io",
                                                 "portforward.k8s.io"};
constexpr std::string_view kSpdyPortForward = "portforward.k8s.io";

int ProtocolVersion(std::string_view p) {
  if (p.size() > 2 && p[0] == 'v' && p[2] == '.') return p[1] - '0';
  return 1;
}
bool IsBase64(std::string_view p) { return p.find("base64") != std::string_view::npos; }

std::string ListOf(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + v[i];
  return s + "]";
}

std::optional<std::pair<uint16_t, uint16_t>> ParseSize(std::string_view json) {
  auto v = json::Parse(json);
  if (!v.ok() || !v->is_object()) return std::nullopt;
  const auto& o = v->get_object();
  auto num = [&](const char* k) -> int64_t {
    const auto* x = o.if_contains(k);
    return x != nullptr && x->is_number() ? x->to_number<int64_t>() : -1;
  };
  int64_t w = num("Width"), h = num("Height");
  if (w < 0 || h < 0 || w > 65535 || h > 65535) return std::nullopt;
  return std::make_pair(static_cast<uint16_t>(w), static_cast<uint16_t>(h));
}

// What the error channel carries at the end: v4 and later a Status (also
// on success), before that the error's text (nothing on success).
std::string ErrorChannelMessage(int version, const Result<int>& exit) {
  if (version >= 4) return ExitStatusJson(exit);
  if (!exit.ok()) return exit.status().message();
  if (*exit != 0) return "command terminated with non-zero exit code: exit status " + std::to_string(*exit);
  return "";
}

// Waits for `done` up to the grace period.
void AwaitReader(std::future<void>& done) { done.wait_for(kCloseGrace); }

// ---- exec / attach over WebSocket channels ----

void ServeRemoteCommandWs(const Negotiated& proto, std::shared_ptr<ByteStream> conn, const StreamOptions& opts,
                          std::unique_ptr<StreamTarget> target) {
  auto ws = std::make_shared<WsConn>(conn);
  int version = ProtocolVersion(proto.protocol);
  bool b64 = IsBase64(proto.protocol);
  StreamTarget* t = target.get();
  std::promise<void> reader_done;
  auto reader_end = reader_done.get_future();
  std::thread reader([&, ws] {
    bool stdin_open = true;
    while (auto m = ws->Read()) {
      std::string& data = m->data;
      if (data.empty()) continue;
      int ch;
      if (b64) {
        ch = data[0] - '0';
        auto d = Base64Decode(std::string_view(data).substr(1));
        if (!d.ok()) continue;
        data = std::move(*d);
      } else {
        ch = static_cast<uint8_t>(data[0]);
        data.erase(0, 1);
      }
      if (ch == 255 && version >= 5) {  // v5: the client closed a stream
        if (!data.empty() && data[0] == 0 && stdin_open) {
          stdin_open = false;
          t->CloseStdin();
        }
      } else if (ch == 0 && opts.stdin && stdin_open) {
        t->WriteStdin(data);
      } else if (ch == 4 && opts.tty) {
        if (auto sz = ParseSize(data)) t->Resize(sz->first, sz->second);
      }
    }
    if (stdin_open) t->CloseStdin();
    t->Cancel();
    reader_done.set_value();
  });
  auto emit = [&](int ch, std::string_view data) {
    if ((ch == 1 && !opts.stdout) || (ch == 2 && !opts.stderr)) return true;
    std::string msg;
    if (b64) {
      msg.push_back(static_cast<char>('0' + ch));
      msg += Base64Encode(data);
    } else {
      msg.push_back(static_cast<char>(ch));
      msg.append(data);
    }
    return ws->Send(msg, !b64);
  };
  t->PumpOutput(emit);
  std::string status = ErrorChannelMessage(version, t->Wait());
  if (!status.empty()) {
    std::string msg;
    if (b64) {
      msg = "3" + Base64Encode(status);
    } else {
      msg = std::string(1, '\x03') + status;
    }
    ws->Send(msg, !b64);
  }
  ws->SendClose(1000);
  AwaitReader(reader_end);
  ws->Close();
  reader.join();
}

// ---- exec / attach over SPDY ----

void ServeRemoteCommandSpdy(const Negotiated& proto, std::shared_ptr<ByteStream> conn, const StreamOptions& opts,
                            std::unique_ptr<StreamTarget> target) {
  SpdyConn spdy(conn);
  int version = ProtocolVersion(proto.protocol);
  StreamTarget* t = target.get();
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, uint32_t> streams;  // GUARDED_BY(mu): stream type -> id
  bool ended = false;                       // GUARDED_BY(mu)
  size_t expected = 1 + (opts.stdin ? 1 : 0) + (opts.stdout ? 1 : 0) + (opts.stderr && !opts.tty ? 1 : 0) +
                    (opts.tty && version >= 3 ? 1 : 0);
  std::promise<void> reader_done;
  auto reader_end = reader_done.get_future();
  std::thread reader([&] {
    uint32_t stdin_id = 0, resize_id = 0;
    bool stdin_open = true;
    std::string resize_buf;
    for (;;) {
      SpdyConn::Event e = spdy.Next();
      if (e.kind == SpdyConn::Event::kEnd) break;
      if (e.kind == SpdyConn::Event::kStream) {
        spdy.Reply(e.stream);
        std::string type = e.headers["streamtype"];
        if (type == "stdin") stdin_id = e.stream;
        if (type == "resize") resize_id = e.stream;
        std::lock_guard<std::mutex> l(mu);
        streams[type] = e.stream;
        cv.notify_all();
        continue;
      }
      if (e.kind != SpdyConn::Event::kData) continue;
      if (e.stream == stdin_id && stdin_id != 0 && stdin_open) {
        if (!e.data.empty()) t->WriteStdin(e.data);
        if (e.fin) {
          stdin_open = false;
          t->CloseStdin();
        }
      } else if (e.stream == resize_id && resize_id != 0) {
        resize_buf += e.data;
        size_t nl;
        while ((nl = resize_buf.find('\n')) != std::string::npos) {
          if (auto sz = ParseSize(std::string_view(resize_buf).substr(0, nl))) t->Resize(sz->first, sz->second);
          resize_buf.erase(0, nl + 1);
        }
        if (auto sz = ParseSize(resize_buf)) {  // an object without its newline
          t->Resize(sz->first, sz->second);
          resize_buf.clear();
        }
      }
    }
    if (stdin_open) t->CloseStdin();
    t->Cancel();
    {
      std::lock_guard<std::mutex> l(mu);
      ended = true;
      cv.notify_all();
    }
    reader_done.set_value();
  });
  std::map<std::string, uint32_t> ids;
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, kStreamCreationTimeout, [&] { return ended || streams.size() >= expected; });
    ids = streams;
  }
  auto id = [&](const char* type) -> uint32_t {
    auto it = ids.find(type);
    return it == ids.end() ? 0 : it->second;
  };
  uint32_t out_id = id("stdout"), err_id = id("stderr"), error_id = id("error");
  auto emit = [&](int ch, std::string_view data) {
    uint32_t s = ch == 1 ? out_id : err_id;
    if (s == 0) return true;
    return spdy.Data(s, data);
  };
  if (ids.size() >= expected) t->PumpOutput(emit);
  Result<int> exit = ids.size() >= expected ? t->Wait() : Status::Unavailable("timed out waiting for client streams");
  if (error_id != 0) spdy.Data(error_id, ErrorChannelMessage(version, exit), /*fin=*/true);
  for (uint32_t s : {out_id, err_id}) {
    if (s != 0) spdy.Data(s, "", /*fin=*/true);
  }
  AwaitReader(reader_end);
  spdy.Close();
  reader.join();
}

// ---- port-forward ----

// Copies from `fd` until EOF: `send(bytes)` per read, then `done()`.
void PumpFd(int fd, const std::function<bool(std::string_view)>& send) {
  char buf[32 << 10];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (!send(std::string_view(buf, static_cast<size_t>(n)))) return;
  }
}


std::string ForwardError(uint16_t port, const Status& st) {
  return "error forwarding port " + std::to_string(port) + " to pod: " + st.message();
}

void ServePortForwardSpdy(std::shared_ptr<ByteStream> conn, const DialFn& dial) {
  SpdyConn spdy(conn);
  struct Pair {
    uint32_t error_id = 0, data_id = 0;
    uint16_t port = 0;
    UniqueFd fd;
    std::thread pump;
    std::atomic<bool> remote_done{false};
    bool local_done = false;
  };
  std::map<std::string, std::unique_ptr<Pair>> pairs;  // by requestid; this thread only
  std::map<uint32_t, Pair*> by_data;
  auto finish = [&](const std::string& key) {
    auto it = pairs.find(key);
    if (it == pairs.end()) return;
    Pair* p = it->second.get();
    if (p->fd.valid()) ::shutdown(p->fd.get(), SHUT_RDWR);
    if (p->pump.joinable()) p->pump.join();
    by_data.erase(p->data_id);
    pairs.erase(it);
  };
  auto sweep = [&] {
    std::vector<std::string> done;
    for (auto& [k, p] : pairs) {
      if (p->local_done && p->remote_done.load()) done.push_back(k);
    }
    for (const auto& k : done) finish(k);
  };
  for (;;) {
    SpdyConn::Event e = spdy.Next();
    if (e.kind == SpdyConn::Event::kEnd) break;
    if (e.kind == SpdyConn::Event::kStream) {
      spdy.Reply(e.stream);
      std::string type = e.headers["streamtype"], key = e.headers["requestid"];
      if (key.empty()) key = e.headers["port"];  // clients before request ids: one pair per port
      auto& slot = pairs[key];
      if (slot == nullptr) slot = std::make_unique<Pair>();
      Pair* p = slot.get();
      int port = std::atoi(e.headers["port"].c_str());
      if (type == "error") p->error_id = e.stream;
      if (type == "data") {
        p->data_id = e.stream;
        by_data[e.stream] = p;
      }
      if (p->error_id == 0 || p->data_id == 0 || p->pump.joinable() || p->remote_done.load()) continue;
      if (port <= 0 || port > 65535) {
        spdy.Data(p->error_id, "invalid port " + e.headers["port"], true);
        spdy.Data(p->data_id, "", true);
        p->remote_done = true;
        continue;
      }
      p->port = static_cast<uint16_t>(port);
      auto fd = dial(p->port);
      if (!fd.ok()) {
        spdy.Data(p->error_id, ForwardError(p->port, fd.status()), true);
        spdy.Data(p->data_id, "", true);
        p->remote_done = true;
        continue;
      }
      p->fd = std::move(*fd);
      p->pump = std::thread([&spdy, p] {
        PumpFd(p->fd.get(), [&](std::string_view d) { return spdy.Data(p->data_id, d); });
        spdy.Data(p->data_id, "", true);
        spdy.Data(p->error_id, "", true);
        p->remote_done = true;
      });
      sweep();
      continue;
    }
    auto it = by_data.find(e.stream);
    if (it == by_data.end()) continue;
    Pair* p = it->second;
    if (e.kind == SpdyConn::Event::kReset) {
      p->local_done = true;
      if (p->fd.valid()) ::shutdown(p->fd.get(), SHUT_RDWR);
    } else if (e.kind == SpdyConn::Event::kData) {
      if (!e.data.empty() && p->fd.valid()) (void)WriteAll(p->fd.get(), e.data);
      if (e.fin) {
        p->local_done = true;
        if (p->fd.valid()) ::shutdown(p->fd.get(), SHUT_WR);
      }
    }
    sweep();
  }
  while (!pairs.empty()) finish(pairs.begin()->first);
  spdy.Close();
}

void ServePortForwardWs(std::shared_ptr<ByteStream> conn, const std::vector<uint16_t>& ports, const DialFn& dial) {
  auto ws = std::make_shared<WsConn>(conn);
  struct Port {
    uint16_t port;
    UniqueFd fd;
    std::thread pump;
  };
  std::vector<Port> fwd(ports.size());
  std::atomic<size_t> open{0};
  std::mutex mu;
  std::condition_variable cv;
  for (size_t i = 0; i < ports.size(); ++i) {
    fwd[i].port = ports[i];
    std::string head(3, '\0');
    head[1] = static_cast<char>(ports[i] & 0xff);
    head[2] = static_cast<char>(ports[i] >> 8);
    head[0] = static_cast<char>(2 * i);
    ws->Send(head);
    head[0] = static_cast<char>(2 * i + 1);
    ws->Send(head);
    auto fd = dial(ports[i]);
    if (!fd.ok()) {
      ws->Send(std::string(1, static_cast<char>(2 * i + 1)) + ForwardError(ports[i], fd.status()));
      continue;
    }
    fwd[i].fd = std::move(*fd);
    ++open;
  }
  for (size_t i = 0; i < fwd.size(); ++i) {
    if (!fwd[i].fd.valid()) continue;
    fwd[i].pump = std::thread([&, i] {
      char ch = static_cast<char>(2 * i);
      PumpFd(fwd[i].fd.get(), [&](std::string_view d) {
        std::string m(1, ch);
        m.append(d);
        return ws->Send(m);
      });
      std::lock_guard<std::mutex> l(mu);
      if (--open == 0) cv.notify_all();
    });
  }
  // The reader: data from the client, until it closes.
  std::promise<void> reader_done;
  auto reader_end = reader_done.get_future();
  std::thread reader([&] {
    while (auto m = ws->Read()) {
      if (m->data.empty()) continue;
      size_t ch = static_cast<uint8_t>(m->data[0]);
      if (ch % 2 != 0 || ch / 2 >= fwd.size() || !fwd[ch / 2].fd.valid()) continue;
      (void)WriteAll(fwd[ch / 2].fd.get(), std::string_view(m->data).substr(1));
    }
    reader_done.set_value();
  });
  {
    // Every pod connection ended (the client cannot half-close one), or
    // the client went away.
    std::unique_lock<std::mutex> l(mu);
    while (open.load() > 0 && reader_end.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      cv.wait_for(l, std::chrono::milliseconds(200));
    }
  }
  for (auto& p : fwd) {
    if (p.fd.valid()) ::shutdown(p.fd.get(), SHUT_RDWR);
  }
  for (auto& p : fwd) {
    if (p.pump.joinable()) p.pump.join();
  }
  ws->SendClose(1000);
  AwaitReader(reader_end);
  ws->Close();
  reader.join();
}

}  // namespace

StreamOptions StreamOptions::FromQuery(std::string_view query) {
  Query q = Query::Parse(query);
  StreamOptions o;
  // Current names, then the legacy ones (input/output/error).
  o.stdin = q.Bool("stdin").value_or(q.Bool("input").value_or(false));
  o.stdout = q.Bool("stdout").value_or(q.Bool("output").value_or(false));
  o.stderr = q.Bool("stderr").value_or(q.Bool("error").value_or(false));
  o.tty = q.Bool("tty").value_or(false);
  if (o.tty) o.stderr = false;  // one terminal carries both
  return o;
}

Result<Negotiated> Negotiate(const apiserver::http::Request& req, bool portforward) {
  Negotiated n;
  if (req.HasHeaderToken("upgrade", "websocket")) {
    n.transport = Negotiated::kWebSocket;
    auto offered = req.WebSocketProtocols();
    const auto& ours = portforward ? kWsPortForward : kWsExec;
    if (offered.empty()) {
      if (portforward) return Status::BadRequest("unable to negotiate protocol: the client offered none");
      n.protocol = "";  // no subprotocol: the v1 channel protocol
    } else {
      for (const auto& p : offered) {
        if (std::find(ours.begin(), ours.end(), p) != ours.end()) {
          n.protocol = p;
          break;
        }
      }
      if (n.protocol.empty()) {
        return Status::BadRequest("unable to upgrade: unable to negotiate protocol: client supports " +
                                  ListOf(offered) + ", server supports " + ListOf(ours));
      }
    }
    std::string key(req.Header("sec-websocket-key"));
    if (key.empty()) return Status::BadRequest("missing Sec-WebSocket-Key");
    n.response = WebSocketUpgradeResponse(key, n.protocol);
    return n;
  }
  if (req.HasHeaderToken("upgrade", "SPDY/3.1")) {
    n.transport = Negotiated::kSpdy;
    auto offered = req.HeaderTokens("x-stream-protocol-version");
    if (portforward) {
      if (!offered.empty() && std::find(offered.begin(), offered.end(), kSpdyPortForward) == offered.end()) {
        return Status::BadRequest("unable to upgrade: unable to negotiate protocol: client supports " +
                                  ListOf(offered) + ", server supports [portforward.k8s.io]");
      }
      n.protocol = kSpdyPortForward;
    } else {
      for (const auto& p : offered) {
        if (std::find(kSpdyExec.begin(), kSpdyExec.end(), p) != kSpdyExec.end()) {
          n.protocol = p;
          break;
        }
      }
      if (n.protocol.empty() && offered.empty()) n.protocol = "channel.k8s.io";
      if (n.protocol.empty()) {
        return Status::BadRequest("unable to upgrade: unable to negotiate protocol: client supports " +
                                  ListOf(offered) + ", server supports " + ListOf(kSpdyExec));
      }
    }
    n.response = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n";
    n.response += "X-Stream-Protocol-Version: " + n.protocol + "\r\n\r\n";
    return n;
  }
  return Status::BadRequest("Upgrade request required");
}

void ServeRemoteCommand(const Negotiated& proto, std::shared_ptr<ByteStream> conn, const StreamOptions& opts,
                        std::unique_ptr<StreamTarget> target) {
  if (proto.transport == Negotiated::kSpdy) {
    ServeRemoteCommandSpdy(proto, std::move(conn), opts, std::move(target));
  } else {
    ServeRemoteCommandWs(proto, std::move(conn), opts, std::move(target));
  }
}

void ServePortForward(const Negotiated& proto, std::shared_ptr<ByteStream> conn, const std::vector<uint16_t>& ports,
                      DialFn dial) {
  if (proto.transport == Negotiated::kSpdy) return ServePortForwardSpdy(std::move(conn), dial);
  if (proto.protocol == "SPDY/3.1+portforward.k8s.io") {
    auto ws = std::make_shared<WsConn>(std::move(conn));
    return ServePortForwardSpdy(std::make_shared<WsByteStream>(ws), dial);
  }
  ServePortForwardWs(std::move(conn), ports, dial);
}

Result<UniqueFd> DialInNetns(const std::string& netns_path, uint16_t port) {
  // A socket belongs to the network namespace it was created in: make it
  // on a thread of its own that enters the pod's namespace (setns changes
  // only the calling thread) and connect there.
  Result<UniqueFd> out = Status::Internal("not run");
  std::thread t([&] {
    if (!netns_path.empty()) {
      UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0) {
        out = Status::IOError("enter network namespace " + netns_path + ": " + std::strerror(errno));
        return;
      }
    }
    std::string last;
    for (int family : {AF_INET, AF_INET6}) {
      UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!fd.valid()) continue;
      int rc;
      if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
      } else {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_loopback;
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
      }
      if (rc == 0) {
        out = std::move(fd);
        return;
      }
      if (last.empty()) last = std::strerror(errno);
    }
    out = Status::Unavailable("failed to connect to localhost:" + std::to_string(port) +
                              " inside the pod's network namespace: " + last);
  });
  t.join();
  return out;
}

std::string ExitStatusJson(const Result<int>& exit) {
  bj::object s;
  s["metadata"] = bj::object();
  if (exit.ok() && *exit == 0) {
    s["status"] = "Success";
    return bj::serialize(s);
  }
  s["status"] = "Failure";
  if (exit.ok()) {
    s["message"] = "command terminated with non-zero exit code: exit status " + std::to_string(*exit);
    s["reason"] = "NonZeroExitCode";
    s["details"] = {{"causes", bj::array{bj::object{{"reason", "ExitCode"}, {"message", std::to_string(*exit)}}}}};
  } else {
    std::string msg = "error executing command in container: " + exit.status().message();
    s["message"] = "Internal error occurred: " + msg;
    s["reason"] = "InternalError";
    s["details"] = {{"causes", bj::array{bj::object{{"message", msg}}}}};
    s["code"] = 500;
  }
  return bj::serialize(s);
}

}  // namespace kubepp::kubelet::server
