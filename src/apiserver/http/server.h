// The HTTP/1.1 server under the API server: HTTPS (or plain HTTP for tests),
// keep-alive, request bodies capped (413), gzip for large responses, chunked
// streaming for watches and logs, and WebSocket upgrades (RFC 6455) for
// watches, exec and attach.
//
// Threads: a few I/O threads run all socket work; each complete request is
// handed to the handler on a worker thread, where it may block (storage
// writes wait for their sync). Streams are written from any thread and
// flushed by the I/O threads; a slow reader is cut off, never waited for.
//
// This header is free of Boost.Asio/Beast; they stay in server.cc.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/byte_stream.h"
#include "common/status.h"

namespace kubepp::apiserver::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The subject of a client certificate that the TLS handshake verified
// against the client CA.
struct PeerIdentity {
  std::string common_name;                 // the user
  std::vector<std::string> organizations;  // the groups
};

struct Request {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded path
  std::string query;   // raw query string (after '?')
  Headers headers;     // names lower-cased
  std::string body;
  std::optional<PeerIdentity> peer;
  std::string remote;  // "ip:port"

  // The first header named `lower_name`, or "".
  std::string_view Header(std::string_view lower_name) const;
  // A GET asking to switch to the WebSocket protocol.
  bool IsWebSocketUpgrade() const;
  // The comma-separated tokens of every header named `lower_name`, in order
  // (repeated lines included).
  std::vector<std::string> HeaderTokens(std::string_view lower_name) const;
  // Whether a header named `lower_name` lists `token` (case-insensitive).
  bool HasHeaderToken(std::string_view lower_name, std::string_view token) const;
  // The subprotocols the client offers (Sec-WebSocket-Protocol), in order.
  std::vector<std::string> WebSocketProtocols() const { return HeaderTokens("sec-websocket-protocol"); }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the body is these pieces in order (and `body` is ignored):
  // large lists are sent from the cached objects without being copied.
  std::vector<std::shared_ptr<const std::string>> pieces;
};

// A chunked response body. Thread-safe.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues bytes. False once the stream is closed: the peer went away, it was
  // Finish()ed, or its unsent backlog passed the limit (then it is closed).
  virtual bool Write(std::string data) = 0;
  // Ends the body; the connection closes after the last chunk is sent.
  virtual void Finish() = 0;
  virtual bool closed() const = 0;
  // Runs `fn` once when the stream ends for any reason (on an I/O thread; it
  // must not block). Runs at once if it already ended.
  virtual void OnClose(std::function<void()> fn) = 0;
};

// A WebSocket connection. Thread-safe. Stream::Write sends one text message;
// Finish sends a normal close after what is queued; a peer that does not
// keep up is cut off as a slow stream reader is.
class WebSocket : public Stream {
 public:
  virtual bool Send(std::string data, bool binary) = 0;
};

// Receives each message from the peer, on an I/O thread (must not block).
using MessageFn = std::function<void(std::string data, bool binary)>;

// One request being handled. Exactly one of Respond, StartStream or
// AcceptWebSocket is called.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  virtual void Respond(Response response) = 0;
  virtual std::shared_ptr<Stream> StartStream(int status, Headers headers) = 0;
  // Answers an upgrade request with 101 and `subprotocol` (if not empty)
  // and turns the connection into a WebSocket. Null if the request is not
  // an upgrade.
  virtual std::shared_ptr<WebSocket> AcceptWebSocket(std::string subprotocol, MessageFn on_message) = 0;
  // Takes the connection of a request carrying an Upgrade header (any
  // protocol: WebSocket, SPDY) as raw bytes: the handler writes the response
  // head itself and then speaks the protocol. Null if the request is not an
  // upgrade or was answered.
  virtual std::shared_ptr<ByteStream> Hijack() = 0;
};

// Called on a worker thread for each request.
using Handler = std::function<void(std::shared_ptr<Exchange>)>;

struct TlsConfig {
  std::string cert_pem;       // serving certificate (chain)
  std::string key_pem;
  std::string client_ca_pem;  // verify client certificates against this, if given
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 0;  // 0: pick a free one
  std::optional<TlsConfig> tls;
  size_t max_body_bytes = 3 << 20;
  size_t gzip_threshold_bytes = 128 << 10;
  size_t max_stream_backlog_bytes = 32 << 20;
  int io_threads = 2;
  int workers = 32;
  // Requests for which this returns true are handled on the I/O thread that
  // read them (their handler must not block: e.g. writes that complete
  // asynchronously). Saves two thread hand-offs per request.
  std::function<bool(const Request&)> run_inline;
};

class Server {
 public:
  // Binds, listens and starts serving.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Handler handler);
  virtual ~Server() = default;
  virtual int port() const = 0;
  // Stops accepting, closes connections, joins threads. Idempotent.
  virtual void Stop() = 0;
};

// Gzip-compresses `in` (RFC 1952).
std::string Gzip(std::string_view in);

}  // namespace kubepp::apiserver::http
