#include "common/http_client.h"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <strings.h>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "common/async_duplex.h"

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

// One connection over a plain socket (kTls false) or TLS.
template <bool kTls>
class Conn : public Connection {
 public:
  using Stream = std::conditional_t<kTls, asio::ssl::stream<tcp::socket>, tcp::socket>;

  Conn(std::string host, std::chrono::milliseconds timeout, std::shared_ptr<asio::ssl::context> ctx)
      : host_(std::move(host)), timeout_(timeout), ctx_(std::move(ctx)), stream_(MakeStream()) {}

  Status Connect(const Endpoint& ep) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
    if (ec) return Status::Unavailable("resolve " + ep.ToString() + ": " + ec.message());
    asio::connect(Socket(), results, ec);
    if (ec) return Status::Unavailable("connect " + ep.ToString() + ": " + ec.message());
    Socket().set_option(tcp::no_delay(true), ec);
    fd_ = Socket().native_handle();
    SetTimeouts(fd_, timeout_);
    if constexpr (kTls) {
      SSL_set_tlsext_host_name(stream_.native_handle(), ep.host.c_str());
      stream_.handshake(asio::ssl::stream_base::client, ec);
      if (ec) return Status::Unavailable("TLS handshake with " + ep.ToString() + ": " + ec.message());
    }
    return Status::OK();
  }

  Result<Response> RoundTrip(const Request& req) override {
    RETURN_IF_ERROR(Send(req));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256ull << 20);
    parser.header_limit(1 << 20);
    beast::error_code ec;
    bhttp::read(stream_, buffer_, parser, ec);
    if (ec) {
      broken_ = true;
      if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof ||
          ec == asio::ssl::error::stream_truncated) {
        peer_closed_ = true;
      }
      return Status::Unavailable("read response: " + ec.message());
    }
    auto& msg = parser.get();
    Response resp;
    resp.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) resp.headers.push_back({std::string(f.name_string()), std::string(f.value())});
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
    bhttp::read_header(stream_, buffer_, *stream_parser_, ec);
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
    bhttp::read_some(stream_, buffer_, *stream_parser_, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      broken_ = true;
      if (ec == bhttp::error::end_of_stream) return false;
      return Status::Unavailable("read stream: " + ec.message());
    }
    out->append(buf, sizeof buf - body.size);
    return true;
  }

  // Sends `req` and reads the head; see Upgrade() in the header.
  Result<Upgraded> SendUpgrade(const Request& req) {
    RETURN_IF_ERROR(Send(req));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(16 << 20);
    beast::error_code ec;
    bhttp::read_header(stream_, buffer_, parser, ec);
    if (!ec && parser.get().result_int() != 101 && !parser.is_done()) bhttp::read(stream_, buffer_, parser, ec);
    if (ec) {
      broken_ = true;
      return Status::Unavailable("read response: " + ec.message());
    }
    Upgraded u;
    auto& msg = parser.get();
    u.response.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) u.response.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    u.response.body = std::move(msg.body());
    broken_ = true;  // no more requests on this connection either way
    return u;
  }
  // The stream and the bytes read past the head, for the upgraded connection.
  Stream TakeStream(std::string* leftover) {
    *leftover = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    SetTimeouts(fd_, std::chrono::milliseconds(0));
    return std::move(stream_);
  }
  asio::io_context& ioc() { return ioc_; }

  void Shutdown() override {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  bool broken() const override { return broken_; }
  bool reused() const override { return reused_; }
  bool peer_closed() const override { return peer_closed_; }

 private:
  Stream MakeStream() {
    if constexpr (kTls) {
      return Stream(ioc_, *ctx_);
    } else {
      return Stream(ioc_);
    }
  }
  tcp::socket& Socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  Status Send(const Request& req) {
    bhttp::request<bhttp::string_body> msg;
    bhttp::verb verb = bhttp::string_to_verb(req.method);
    if (verb == bhttp::verb::unknown) return Status::BadRequest("unknown HTTP method " + req.method);
    msg.method(verb);
    msg.target(req.target);
    msg.version(11);
    msg.set(bhttp::field::host, host_);
    for (const auto& h : req.headers) {
      // Repeated names stay repeated (X-Stream-Protocol-Version lists one
      // protocol per line); Host replaces ours.
      if (::strcasecmp(h.name.c_str(), "host") == 0) {
        msg.set(bhttp::field::host, h.value);
      } else {
        msg.insert(h.name, h.value);
      }
    }
    if (!req.body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch) {
      msg.body() = req.body;
      msg.prepare_payload();
    }
    beast::error_code ec;
    bhttp::write(stream_, msg, ec);
    if (ec) {
      broken_ = true;
      peer_closed_ = true;
      return Status::Unavailable("write request: " + ec.message());
    }
    return Status::OK();
  }

  std::string host_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<asio::ssl::context> ctx_;
  asio::io_context ioc_;
  Stream stream_;
  int fd_ = -1;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> stream_parser_;
  bool broken_ = false;
  bool reused_ = false;
  bool peer_closed_ = false;
};

Result<std::shared_ptr<asio::ssl::context>> MakeContext(const TlsClientConfig& cfg) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  beast::error_code ec;
  if (cfg.insecure_skip_verify) {
    ctx->set_verify_mode(asio::ssl::verify_none);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (!cfg.ca_pem.empty()) {
      ctx->add_certificate_authority(asio::buffer(cfg.ca_pem), ec);
      if (ec) return Status::BadRequest("CA certificate: " + ec.message());
    } else {
      ctx->set_default_verify_paths(ec);
    }
  }
  if (!cfg.cert_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(cfg.cert_pem), ec);
    if (ec) return Status::BadRequest("client certificate: " + ec.message());
    ctx->use_private_key(asio::buffer(cfg.key_pem), asio::ssl::context::pem, ec);
    if (ec) return Status::BadRequest("client key: " + ec.message());
  }
  return ctx;
}

// An upgraded client connection: its own I/O thread runs the asynchronous
// reads and writes of the AsyncDuplex.
template <bool kTls>
class UpgradedStream : public ByteStream {
 public:
  explicit UpgradedStream(std::unique_ptr<Conn<kTls>> conn) : conn_(std::move(conn)) {
    std::string leftover;
    auto stream = conn_->TakeStream(&leftover);
    duplex_.emplace(std::move(stream), std::move(leftover));
    thread_ = std::thread([this] { conn_->ioc().run(); });
  }
  ~UpgradedStream() override {
    duplex_->Close();
    work_.reset();
    thread_.join();
    duplex_.reset();
  }
  std::string Read() override { return duplex_->Read(); }
  bool Write(std::string_view data) override { return duplex_->Write(data); }
  void Close() override { duplex_->Close(); }

 private:
  std::unique_ptr<Conn<kTls>> conn_;
  std::optional<AsyncDuplex<typename Conn<kTls>::Stream>> duplex_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{conn_->ioc().get_executor()};
  std::thread thread_;
};

template <bool kTls>
Result<Upgraded> UpgradeOn(std::unique_ptr<Conn<kTls>> c, const Request& req) {
  ASSIGN_OR_RETURN(Upgraded u, c->SendUpgrade(req));
  if (u.response.status == 101) u.stream = std::make_shared<UpgradedStream<kTls>>(std::move(c));
  return u;
}

}  // namespace

Result<Upgraded> Upgrade(const Endpoint& ep, const Request& req, std::chrono::milliseconds timeout) {
  std::string host = ep.host + ":" + std::to_string(ep.port);
  if (!ep.tls) {
    auto c = std::make_unique<Conn<false>>(host, timeout, nullptr);
    RETURN_IF_ERROR(c->Connect(ep));
    return UpgradeOn(std::move(c), req);
  }
  ASSIGN_OR_RETURN(auto ctx, MakeContext(ep.tls_config ? *ep.tls_config : TlsClientConfig{}));
  auto c = std::make_unique<Conn<true>>(host, timeout, std::move(ctx));
  RETURN_IF_ERROR(c->Connect(ep));
  return UpgradeOn(std::move(c), req);
}

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
  constexpr std::string_view kHttps = "https://";
  std::string_view rest;
  bool tls = false;
  if (url.substr(0, kHttp.size()) == kHttp) {
    rest = url.substr(kHttp.size());
  } else if (url.substr(0, kHttps.size()) == kHttps) {
    rest = url.substr(kHttps.size());
    tls = true;
  } else {
    return Status::BadRequest("unsupported endpoint URL (want http(s)://host:port): " + std::string(url));
  }
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return Status::BadRequest("endpoint URL has no port: " + std::string(url));
  Endpoint ep;
  ep.tls = tls;
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
  std::string host = ep.host + ":" + std::to_string(ep.port);
  if (!ep.tls) {
    auto c = std::make_unique<Conn<false>>(host, timeout, nullptr);
    RETURN_IF_ERROR(c->Connect(ep));
    return std::unique_ptr<Connection>(std::move(c));
  }
  // One SSL context per configuration (shared by every connection to it).
  static std::mutex mu;
  static std::map<const TlsClientConfig*, std::weak_ptr<asio::ssl::context>> contexts;
  TlsClientConfig none;
  const TlsClientConfig& cfg = ep.tls_config ? *ep.tls_config : none;
  std::shared_ptr<asio::ssl::context> ctx;
  {
    std::lock_guard<std::mutex> l(mu);
    auto& slot = contexts[ep.tls_config.get()];
    ctx = slot.lock();
    if (!ctx) {
      ASSIGN_OR_RETURN(ctx, MakeContext(cfg));
      slot = ctx;
    }
  }
  auto c = std::make_unique<Conn<true>>(host, timeout, std::move(ctx));
  RETURN_IF_ERROR(c->Connect(ep));
  return std::unique_ptr<Connection>(std::move(c));
}

Endpoint Client::endpoint() const {
  std::lock_guard<std::mutex> l(mu_);
  return ep_;
}

void Client::SetEndpoint(Endpoint ep) {
  std::vector<std::unique_ptr<Connection>> old;
  std::lock_guard<std::mutex> l(mu_);
  ep_ = std::move(ep);
  ++generation_;
  old.swap(idle_);
}

Result<Response> Client::Do(const Request& req) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> conn;
    Endpoint ep;
    uint64_t gen;
    {
      std::lock_guard<std::mutex> l(mu_);
      gen = generation_;
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ep = ep_;
      }
    }
    if (!conn) {
      ASSIGN_OR_RETURN(conn, Connection::Open(ep, timeout_));
    }
    bool was_reused = conn->reused();
    Result<Response> r = conn->RoundTrip(req);
    if (r.ok()) {
      if (!conn->broken()) {
        std::lock_guard<std::mutex> l(mu_);
        if (gen == generation_) idle_.push_back(std::move(conn));
      }
      return r;
    }
    if (!(was_reused && conn->peer_closed())) return r;
  }
  return Status::Unavailable("connection to " + endpoint().ToString() + " closed twice");
}

}  // namespace kubepp::http
