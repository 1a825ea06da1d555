#include "apiserver/http/server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <strings.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <mutex>
#include <thread>

#include "apiserver/http/websocket.h"
#include "common/async_duplex.h"
#include "common/log.h"
#include "common/url.h"
#include "common/thread_pool.h"

namespace kubepp::apiserver::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

const log::Logger& Log() {
  static const log::Logger logger("http");
  return logger;
}

constexpr auto kIdleTimeout = std::chrono::minutes(10);
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);

std::string StatusBody(int code, std::string_view reason, std::string_view message) {
  std::string m;
  for (char c : message) {
    if (c == '"' || c == '\\') m.push_back('\\');
    m.push_back(c);
  }
  return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"" + m +
         "\",\"reason\":\"" + std::string(reason) + "\",\"code\":" + std::to_string(code) + "}";
}

bool AcceptsGzip(const Request& r) {
  std::string_view ae = r.Header("accept-encoding");
  return ae.find("gzip") != std::string_view::npos;
}

std::optional<PeerIdentity> PeerFromSsl(SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerIdentity id;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(e);
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                      static_cast<size_t>(ASN1_STRING_length(data)));
    if (nid == NID_commonName) {
      id.common_name = value;
    } else if (nid == NID_organizationName) {
      id.organizations.push_back(value);
    }
  }
  return id;
}

class ServerImpl;

// A response body made of shared string pieces, written without building
// one big string.
struct PiecesBody {
  using value_type = std::vector<std::shared_ptr<const std::string>>;
  static uint64_t size(const value_type& v) {
    uint64_t n = 0;
    for (const auto& p : v) n += p->size();
    return n;
  }
  // Hands Beast one 256 KiB block at a time: a buffer sequence of thousands
  // of pieces makes every partial TLS write walk the whole sequence.
  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const bhttp::header<isRequest, Fields>&, const value_type& v) : v_(v) {}
    void init(beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      block_.clear();
      while (piece_ < v_.size() && block_.size() < kBlock) {
        const std::string& p = *v_[piece_];
        size_t n = std::min(p.size() - offset_, kBlock - block_.size());
        block_.append(p, offset_, n);
        offset_ += n;
        if (offset_ == p.size()) {
          ++piece_;
          offset_ = 0;
        }
      }
      if (block_.empty()) return boost::none;
      return std::make_pair(asio::const_buffer(block_.data(), block_.size()), piece_ < v_.size());
    }

   private:
    static constexpr size_t kBlock = 256 << 10;
    const value_type& v_;
    size_t piece_ = 0;
    size_t offset_ = 0;
    std::string block_;
  };
};

// One connection. Plain TCP or TLS, chosen by StreamT.
template <class StreamT>
class Session : public std::enable_shared_from_this<Session<StreamT>> {
 public:
  Session(ServerImpl* server, StreamT stream) : server_(server), stream_(std::move(stream)) {}
  void Run();

  // Called from worker threads through the Exchange.
  void Respond(Response resp, bool keep_alive, bool gzip_ok);
  void StartStream(int status, Headers headers);
  bool QueueChunk(std::string data);
  void FinishStream();
  void AddOnClose(std::function<void()> fn);
  bool stream_closed() const { return stream_closed_.load(); }
  // Hands the connection over to a WebSocket session; this one is done.
  std::shared_ptr<WebSocket> UpgradeToWebSocket(std::shared_ptr<UpgradeRequest> req, std::string subprotocol,
                                                MessageFn on_message);
  // Hands the connection over as raw bytes; this session is done.
  std::shared_ptr<ByteStream> TakeOver();

 private:
  friend class ServerImpl;

  auto& lowest() { return beast::get_lowest_layer(stream_); }
  void DoHandshake();
  void DoRead();
  void OnRead(beast::error_code ec, size_t);
  void SendSimple(int code, std::string_view reason, std::string_view message, bool close);
  // Fills in the head of `res` and writes it; then reads the next request,
  // drains (after a 413) or closes.
  template <class Body>
  void Send(std::shared_ptr<bhttp::response<Body>> res, int status, const Headers& headers, bool keep_alive);
  void Pump();
  void CloseStream();  // on the strand
  void Close();
  void Drain(size_t budget);  // reads and discards, then closes

  ServerImpl* server_;
  StreamT stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<PeerIdentity> peer_;
  std::string remote_;
  std::shared_ptr<void> res_;  // the response being written

  // Streaming state. The queue is shared with writer threads.
  std::mutex mu_;
  std::deque<std::string> chunks_;           // GUARDED_BY(mu_)
  size_t queued_bytes_ = 0;                  // GUARDED_BY(mu_)
  bool finish_requested_ = false;            // GUARDED_BY(mu_)
  std::vector<std::function<void()>> on_close_;  // GUARDED_BY(mu_)
  std::atomic<bool> stream_closed_{false};
  bool streaming_ = false;  // strand
  bool writing_ = false;    // strand
  std::string writing_chunk_;
  std::array<char, 4096> sink_;
  bool drain_ = false;
};

class ExchangeImplBase : public Exchange {
 public:
  const Request& request() const override { return request_; }
  Request request_;
};

template <class StreamT>
class ExchangeImpl : public ExchangeImplBase {
 public:
  explicit ExchangeImpl(std::shared_ptr<Session<StreamT>> s, bool keep_alive)
      : session_(std::move(s)), keep_alive_(keep_alive) {}
  void Respond(Response response) override {
    if (answered_.exchange(true)) return;
    session_->Respond(std::move(response), keep_alive_, AcceptsGzip(request_));
  }
  std::shared_ptr<Stream> StartStream(int status, Headers headers) override;
  std::shared_ptr<WebSocket> AcceptWebSocket(std::string subprotocol, MessageFn on_message) override {
    if (upgrade_ == nullptr || answered_.exchange(true)) return nullptr;
    return session_->UpgradeToWebSocket(std::move(upgrade_), std::move(subprotocol), std::move(on_message));
  }
  std::shared_ptr<ByteStream> Hijack() override {
    if (request_.Header("upgrade").empty() || answered_.exchange(true)) return nullptr;
    return session_->TakeOver();
  }
  std::shared_ptr<UpgradeRequest> upgrade_;  // the request, kept for the handshake

 private:
  std::shared_ptr<Session<StreamT>> session_;
  bool keep_alive_;
  std::atomic<bool> answered_{false};
};

template <class StreamT>
class StreamImpl : public Stream {
 public:
  explicit StreamImpl(std::shared_ptr<Session<StreamT>> s) : session_(std::move(s)) {}
  ~StreamImpl() override { Finish(); }
  bool Write(std::string data) override { return session_->QueueChunk(std::move(data)); }
  void Finish() override { session_->FinishStream(); }
  bool closed() const override { return session_->stream_closed(); }
  void OnClose(std::function<void()> fn) override { session_->AddOnClose(std::move(fn)); }

 private:
  std::shared_ptr<Session<StreamT>> session_;
};

template <class StreamT>
std::shared_ptr<Stream> ExchangeImpl<StreamT>::StartStream(int status, Headers headers) {
  answered_.store(true);
  session_->StartStream(status, std::move(headers));
  return std::make_shared<StreamImpl<StreamT>>(session_);
}

class ServerImpl : public Server {
 public:
  ServerImpl(const ServerOptions& options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        ioc_(options.io_threads),
        acceptor_(ioc_),
        ssl_ctx_(asio::ssl::context::tls_server),
        workers_(options.workers, "api-worker") {}

  ~ServerImpl() override { Stop(); }

  Status Init() {
    if (options_.tls) {
      beast::error_code ec;
      ssl_ctx_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1);
      ssl_ctx_.use_certificate_chain(asio::buffer(options_.tls->cert_pem), ec);
      if (ec) return Status::BadRequest("TLS certificate: " + ec.message());
      ssl_ctx_.use_private_key(asio::buffer(options_.tls->key_pem), asio::ssl::context::pem, ec);
      if (ec) return Status::BadRequest("TLS key: " + ec.message());
      if (!options_.tls->client_ca_pem.empty()) {
        ssl_ctx_.add_certificate_authority(asio::buffer(options_.tls->client_ca_pem), ec);
        if (ec) return Status::BadRequest("client CA: " + ec.message());
        // Ask for a client certificate; verify it if given (Go's VerifyClientCertIfGiven).
        ssl_ctx_.set_verify_mode(asio::ssl::verify_peer);
        // Tell clients which CA we accept.
        BIO* bio = BIO_new_mem_buf(options_.tls->client_ca_pem.data(), static_cast<int>(options_.tls->client_ca_pem.size()));
        STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
        while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
          sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(x)));
          X509_free(x);
        }
        BIO_free(bio);
        SSL_CTX_set_client_CA_list(ssl_ctx_.native_handle(), names);
      }
      // HTTP/1.1 only: clients fall back from h2 (ALPN) to http/1.1.
      SSL_CTX_set_alpn_select_cb(
          ssl_ctx_.native_handle(),
          [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
             void*) -> int {
            static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
            unsigned char* sel = nullptr;
            if (SSL_select_next_proto(&sel, outlen, kHttp11, sizeof kHttp11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
              *out = sel;
              return SSL_TLSEXT_ERR_OK;
            }
            return SSL_TLSEXT_ERR_NOACK;
          },
          nullptr);
    }
    beast::error_code ec;
    auto addr = asio::ip::make_address(options_.address, ec);
    if (ec) return Status::BadRequest("bad bind address " + options_.address + ": " + ec.message());
    tcp::endpoint ep(addr, static_cast<uint16_t>(options_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("listen on " + options_.address + ":" + std::to_string(options_.port) + ": " +
                                 ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    for (int i = 0; i < options_.io_threads; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
      pthread_setname_np(threads_.back().native_handle(), "api-io");
    }
    return Status::OK();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    workers_.Stop();
  }

  void Dispatch(std::shared_ptr<ExchangeImplBase> ex) {
    if (options_.run_inline && options_.run_inline(ex->request_)) {
      handler_(std::move(ex));
      return;
    }
    workers_.Submit([this, ex = std::move(ex)] { handler_(ex); });
  }

  const ServerOptions& options() const { return options_; }

 private:
  void DoAccept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!stopped_.load()) {
          Log().Warning("accept failed", {{"err", ec.message()}});
          DoAccept();
        }
        return;
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::string remote;
      auto rep = socket.remote_endpoint(ec);
      if (!ec) remote = rep.address().to_string() + ":" + std::to_string(rep.port());
      if (options_.tls) {
        auto s = std::make_shared<Session<TlsStream>>(this, TlsStream(beast::tcp_stream(std::move(socket)), ssl_ctx_));
        s->remote_ = remote;
        s->Run();
      } else {
        auto s = std::make_shared<Session<beast::tcp_stream>>(this, beast::tcp_stream(std::move(socket)));
        s->remote_ = remote;
        s->Run();
      }
      DoAccept();
    });
  }

  ServerOptions options_;
  Handler handler_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::ssl::context ssl_ctx_;
  ThreadPool workers_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

template <class StreamT>
void Session<StreamT>::Run() {
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (std::is_same_v<StreamT, beast::tcp_stream>) {
      self->DoRead();
    } else {
      self->DoHandshake();
    }
  });
}

template <class StreamT>
void Session<StreamT>::DoHandshake() {
  if constexpr (!std::is_same_v<StreamT, beast::tcp_stream>) {
    lowest().expires_after(kHandshakeTimeout);
    stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) {
        Log().V(2, "TLS handshake failed", {{"remote", self->remote_}, {"err", ec.message()}});
        return;
      }
      self->peer_ = PeerFromSsl(self->stream_.native_handle());
      self->DoRead();
    });
  }
}

template <class StreamT>
void Session<StreamT>::DoRead() {
  parser_.emplace();
  parser_->body_limit(server_->options().max_body_bytes);
  parser_->header_limit(1 << 20);
  lowest().expires_after(kIdleTimeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = this->shared_from_this()](beast::error_code ec, size_t n) { self->OnRead(ec, n); });
}

template <class StreamT>
void Session<StreamT>::OnRead(beast::error_code ec, size_t) {
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    Close();
    return;
  }
  if (ec == bhttp::error::body_limit) {
    // The client is still sending: read the rest (up to a bound) after the
    // answer so it sees the 413 rather than a reset.
    drain_ = true;
    SendSimple(413, "RequestEntityTooLarge",
               "the request body exceeds the limit of " + std::to_string(server_->options().max_body_bytes) +
                   " bytes",
               true);
    return;
  }
  if (ec) {
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      Close();
      return;
    }
    SendSimple(400, "BadRequest", "malformed HTTP request: " + ec.message(), true);
    return;
  }
  lowest().expires_never();
  auto msg = parser_->release();
  bool keep_alive = msg.keep_alive();
  auto ex = std::make_shared<ExchangeImpl<StreamT>>(this->shared_from_this(), keep_alive);
  Request& r = ex->request_;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  size_t q = r.target.find('?');
  r.path = UrlDecode(std::string_view(r.target).substr(0, q), /*plus_is_space=*/false);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.body = std::move(msg.body());
  r.peer = peer_;
  r.remote = remote_;
  if (r.IsWebSocketUpgrade()) ex->upgrade_ = std::make_shared<UpgradeRequest>(std::move(msg));
  server_->Dispatch(std::move(ex));
}

template <class StreamT>
std::shared_ptr<WebSocket> Session<StreamT>::UpgradeToWebSocket(std::shared_ptr<UpgradeRequest> req,
                                                                std::string subprotocol, MessageFn on_message) {
  if constexpr (!std::is_same_v<StreamT, TlsStream>) {
    return nullptr;  // WebSocket over TLS only: every server but plain-HTTP tests
  } else {
    auto ws = NewWebSocket(stream_.get_executor(), server_->options().max_stream_backlog_bytes, remote_);
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this(), ws, req = std::move(req),
                                            sub = std::move(subprotocol), fn = std::move(on_message)]() mutable {
      StartWebSocket(ws, std::move(self->stream_), std::move(req), std::move(sub), std::move(fn));
    });
    return ws;
  }
}

template <class StreamT>
std::shared_ptr<ByteStream> Session<StreamT>::TakeOver() {
  // The session reads nothing more after dispatching a request, so the
  // stream and what was read past the request's head move out as they are.
  std::promise<std::shared_ptr<ByteStream>> done;
  auto f = done.get_future();
  asio::dispatch(stream_.get_executor(), [this, &done] {
    std::string leftover = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    lowest().expires_never();
    done.set_value(std::make_shared<AsyncDuplex<StreamT>>(std::move(stream_), std::move(leftover)));
  });
  return f.get();
}

template <class StreamT>
void Session<StreamT>::SendSimple(int code, std::string_view reason, std::string_view message, bool close) {
  Response resp;
  resp.status = code;
  resp.headers.emplace_back("Content-Type", "application/json");
  resp.body = StatusBody(code, reason, message);
  Respond(std::move(resp), !close, false);
}

template <class StreamT>
void Session<StreamT>::Respond(Response resp, bool keep_alive, bool gzip_ok) {
  if (!resp.pieces.empty()) {
    uint64_t total = PiecesBody::size(resp.pieces);
    if (gzip_ok && total >= server_->options().gzip_threshold_bytes) {
      // Compression needs the body in one piece.
      std::string whole;
      whole.reserve(total);
      for (const auto& p : resp.pieces) whole += *p;
      resp.pieces.clear();
      resp.body = std::move(whole);
    } else {
      auto res = std::make_shared<bhttp::response<PiecesBody>>();
      res->body() = std::move(resp.pieces);
      return Send(std::move(res), resp.status, resp.headers, keep_alive);
    }
  }
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
  if (gzip_ok && resp.body.size() >= server_->options().gzip_threshold_bytes) {
    res->set(bhttp::field::content_encoding, "gzip");
    res->body() = Gzip(resp.body);
  } else {
    res->body() = std::move(resp.body);
  }
  Send(std::move(res), resp.status, resp.headers, keep_alive);
}

template <class StreamT>
template <class Body>
void Session<StreamT>::Send(std::shared_ptr<bhttp::response<Body>> res, int status, const Headers& headers,
                            bool keep_alive) {
  res->result(static_cast<unsigned>(status));
  res->version(11);
  for (const auto& [k, v] : headers) res->insert(k, v);
  res->keep_alive(keep_alive);
  res->prepare_payload();
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this(), res]() mutable {
    self->res_ = res;
    bhttp::async_write(self->stream_, *res, [self, res](beast::error_code ec, size_t) {
      self->res_.reset();
      if (!ec && self->drain_) {
        self->Drain(64 << 20);
        return;
      }
      if (ec || !res->keep_alive()) {
        self->Close();
        return;
      }
      self->DoRead();
    });
  });
}

template <class StreamT>
void Session<StreamT>::StartStream(int status, Headers headers) {
  auto res = std::make_shared<bhttp::response<bhttp::empty_body>>();
  res->result(static_cast<unsigned>(status));
  res->version(11);
  for (auto& [k, v] : headers) res->insert(k, v);
  res->chunked(true);
  // A streamed response ends its connection: no request is read after it.
  res->keep_alive(false);
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this(), res] {
    self->streaming_ = true;
    self->writing_ = true;
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    bhttp::async_write_header(self->stream_, *sr, [self, res, sr](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) {
        self->CloseStream();
        return;
      }
      // Notice the peer going away: read (and discard) until EOF.
      auto arm = std::make_shared<std::function<void()>>();
      *arm = [self, arm] {
        self->stream_.async_read_some(asio::buffer(self->sink_), [self, arm](beast::error_code ec, size_t) {
          if (ec) {
            self->CloseStream();
            return;
          }
          (*arm)();
        });
      };
      (*arm)();
      self->Pump();
    });
  });
}

template <class StreamT>
bool Session<StreamT>::QueueChunk(std::string data) {
  if (stream_closed_.load()) return false;
  bool overflow = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (finish_requested_) return false;
    queued_bytes_ += data.size();
    if (queued_bytes_ > server_->options().max_stream_backlog_bytes) {
      overflow = true;
    } else {
      chunks_.push_back(std::move(data));
    }
  }
  if (overflow) {
    Log().V(1, "closing a stream whose reader fell behind", {{"remote", remote_}});
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->CloseStream(); });
    return false;
  }
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Pump(); });
  return true;
}

template <class StreamT>
void Session<StreamT>::FinishStream() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (finish_requested_) return;
    finish_requested_ = true;
  }
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Pump(); });
}

template <class StreamT>
void Session<StreamT>::AddOnClose(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stream_closed_.load()) {
      on_close_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

template <class StreamT>
void Session<StreamT>::Pump() {
  if (!streaming_ || writing_ || stream_closed_.load()) return;
  bool last = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (chunks_.empty()) {
      if (!finish_requested_) return;
      last = true;
    } else {
      // Coalesce what is queued into one chunk.
      writing_chunk_.clear();
      while (!chunks_.empty()) {
        writing_chunk_ += chunks_.front();
        queued_bytes_ -= chunks_.front().size();
        chunks_.pop_front();
        if (writing_chunk_.size() > (1u << 20)) break;
      }
    }
  }
  writing_ = true;
  auto self = this->shared_from_this();
  if (last) {
    asio::async_write(stream_, bhttp::make_chunk_last(), [self](beast::error_code, size_t) {
      self->writing_ = false;
      self->CloseStream();
    });
    return;
  }
  asio::async_write(stream_, bhttp::make_chunk(asio::buffer(writing_chunk_)), [self](beast::error_code ec, size_t) {
    self->writing_ = false;
    if (ec) {
      self->CloseStream();
      return;
    }
    self->Pump();
  });
}

template <class StreamT>
void Session<StreamT>::CloseStream() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stream_closed_.exchange(true)) return;
    callbacks.swap(on_close_);
    chunks_.clear();
    queued_bytes_ = 0;
  }
  for (auto& fn : callbacks) fn();
  Close();
}

template <class StreamT>
void Session<StreamT>::Drain(size_t budget) {
  lowest().expires_after(std::chrono::seconds(5));
  stream_.async_read_some(asio::buffer(sink_), [self = this->shared_from_this(), budget](beast::error_code ec, size_t n) {
    if (ec || n >= budget) {
      self->Close();
      return;
    }
    self->Drain(budget - n);
  });
}

template <class StreamT>
void Session<StreamT>::Close() {
  beast::error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  lowest().socket().close(ec);
}

}  // namespace

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

namespace {

// The items of a comma-separated header value, trimmed, empty ones dropped.
std::vector<std::string_view> CommaList(std::string_view list) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = std::min(list.find(',', start), list.size());
    std::string_view t = list.substr(start, end - start);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty()) out.push_back(t);
    start = end + 1;
  }
  return out;
}

bool HasToken(std::string_view list, std::string_view token) {
  for (std::string_view t : CommaList(list)) {
    if (t.size() == token.size() && strncasecmp(t.data(), token.data(), t.size()) == 0) return true;
  }
  return false;
}

}  // namespace

bool Request::IsWebSocketUpgrade() const {
  return method == "GET" && HasToken(Header("connection"), "upgrade") && HasToken(Header("upgrade"), "websocket");
}

std::vector<std::string> Request::HeaderTokens(std::string_view lower_name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k != lower_name) continue;
    for (std::string_view t : CommaList(v)) out.emplace_back(t);
  }
  return out;
}

bool Request::HasHeaderToken(std::string_view lower_name, std::string_view token) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name && HasToken(v, token)) return true;
  }
  return false;
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler handler) {
  auto s = std::make_unique<ServerImpl>(options, std::move(handler));
  RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace kubepp::apiserver::http
