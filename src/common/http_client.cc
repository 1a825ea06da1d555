#include "common/http_client.h"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <strings.h>

namespace kubepp::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

void SetTimeouts(int fd, std::chrono::milliseconds t) {
  struct timeval tv;
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

class TcpConnection : public Connection {
 public:
  TcpConnection(std::string host, std::chrono::milliseconds timeout)
      : host_(std::move(host)), timeout_(timeout), socket_(ioc_) {}

  Status Connect(const Endpoint& ep) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
    if (ec) return Status::Unavailable("resolve " + ep.ToString() + ": " + ec.message());
    asio::connect(socket_, results, ec);
    if (ec) return Status::Unavailable("connect " + ep.ToString() + ": " + ec.message());
    socket_.set_option(tcp::no_delay(true), ec);
    fd_ = socket_.native_handle();
    SetTimeouts(fd_, timeout_);
    return Status::OK();
  }

  Result<Response> RoundTrip(const Request& req) override {
    RETURN_IF_ERROR(Send(req));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64ull << 20);
    parser.header_limit(1 << 20);
    beast::error_code ec;
    bhttp::read(socket_, buffer_, parser, ec);
    if (ec) {
      broken_ = true;
      bool nothing = ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                     ec == asio::error::eof;
      Status st = Status::Unavailable("read response: " + ec.message());
      if (nothing) peer_closed_ = true;
      return st;
    }
    auto& msg = parser.get();
    Response resp;
    resp.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) {
      resp.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    resp.body = std::move(msg.body());
    if (!msg.keep_alive()) broken_ = true;
    reused_ = true;
    return resp;
  }

  Result<int> StartStream(const Request& req) override {
    SetTimeouts(fd_, std::chrono::milliseconds(0));
    RETURN_IF_ERROR(Send(req));
    stream_parser_.emplace();
    stream_parser_->body_limit(boost::none);
    beast::error_code ec;
    bhttp::read_header(socket_, buffer_, *stream_parser_, ec);
    if (ec) {
      broken_ = true;
      return Status::Unavailable("read response head: " + ec.message());
    }
    return static_cast<int>(stream_parser_->get().result_int());
  }

  Result<bool> ReadStream(std::string* out) override {
    if (!stream_parser_) return Status::BadRequest("ReadStream without StartStream");
    if (stream_parser_->is_done()) return false;
    char buf[16384];
    auto& body = stream_parser_->get().body();
    body.data = buf;
    body.size = sizeof buf;
    beast::error_code ec;
    bhttp::read_some(socket_, buffer_, *stream_parser_, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      broken_ = true;
      if (ec == bhttp::error::end_of_stream) return false;
      return Status::Unavailable("read stream: " + ec.message());
    }
    out->append(buf, sizeof buf - body.size);
    return true;
  }

  void Shutdown() override {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  bool broken() const override { return broken_; }
  bool reused() const override { return reused_; }
  bool peer_closed() const { return peer_closed_; }

 private:
  Status Send(const Request& req) {
    bhttp::request<bhttp::string_body> msg;
    bhttp::verb verb = bhttp::string_to_verb(req.method);
    if (verb == bhttp::verb::unknown) return Status::BadRequest("unknown HTTP method " + req.method);
    msg.method(verb);
    msg.target(req.target);
    msg.version(11);
    msg.set(bhttp::field::host, host_);
    for (const auto& h : req.headers) msg.set(h.name, h.value);
    if (!req.body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put ||
        verb == bhttp::verb::patch) {
      msg.body() = req.body;
      msg.prepare_payload();
    }
    beast::error_code ec;
    bhttp::write(socket_, msg, ec);
    if (ec) {
      broken_ = true;
      peer_closed_ = true;
      return Status::Unavailable("write request: " + ec.message());
    }
    return Status::OK();
  }

  std::string host_;
  std::chrono::milliseconds timeout_;
  asio::io_context ioc_;
  tcp::socket socket_;
  int fd_ = -1;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> stream_parser_;
  bool broken_ = false;
  bool reused_ = false;
  bool peer_closed_ = false;
};

}  // namespace

std::string_view Response::GetHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() && ::strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return h.value;
    }
  }
  return "";
}

Result<Endpoint> Endpoint::Parse(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, kHttp.size()) != kHttp) {
    return Status::BadRequest("unsupported endpoint URL (want http://host:port): " + std::string(url));
  }
  std::string_view rest = url.substr(kHttp.size());
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return Status::BadRequest("endpoint URL has no port: " + std::string(url));
  Endpoint ep;
  ep.host = std::string(rest.substr(0, colon));
  std::string_view port = rest.substr(colon + 1);
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
  if (ec != std::errc() || p != port.data() + port.size() || ep.port <= 0 || ep.port > 65535) {
    return Status::BadRequest("bad port in endpoint URL: " + std::string(url));
  }
  return ep;
}

std::string Endpoint::ToString() const { return host + ":" + std::to_string(port); }

Result<std::unique_ptr<Connection>> Connection::Open(const Endpoint& ep,
                                                     std::chrono::milliseconds timeout) {
  auto c = std::make_unique<TcpConnection>(ep.host + ":" + std::to_string(ep.port), timeout);
  RETURN_IF_ERROR(c->Connect(ep));
  return std::unique_ptr<Connection>(std::move(c));
}

Result<Response> Client::Do(const Request& req) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!conn) {
      ASSIGN_OR_RETURN(conn, Connection::Open(ep_, timeout_));
    }
    bool was_reused = conn->reused();
    Result<Response> r = conn->RoundTrip(req);
    if (r.ok()) {
      if (!conn->broken()) {
        std::lock_guard<std::mutex> l(mu_);
        idle_.push_back(std::move(conn));
      }
      return r;
    }
    auto* tcp = static_cast<TcpConnection*>(conn.get());
    if (!(was_reused && tcp->peer_closed())) return r;
  }
  return Status::Unavailable("connection to " + ep_.ToString() + " closed twice");
}

}  // namespace kubepp::http
