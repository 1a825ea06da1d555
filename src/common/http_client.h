// A blocking HTTP/1.1 client: persistent connections, a thread-safe pool per
// endpoint, and streamed response bodies (chunked watch streams).
//
// This header is free of Boost.Asio/Beast; they stay in http_client.cc.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_stream.h"
#include "common/status.h"

namespace kubepp::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method = "GET";
  std::string target = "/";
  std::vector<Header> headers;
  std::string body;
};

struct Response {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  // Value of the first header named `name` (case-insensitive), or "".
  std::string_view GetHeader(std::string_view name) const;
};

// TLS settings for https endpoints (PEM text).
struct TlsClientConfig {
  std::string ca_pem;    // verify the server against this CA
  std::string cert_pem;  // client certificate, if any
  std::string key_pem;
  bool insecure_skip_verify = false;
};

struct Endpoint {
  std::string host;  // IPv4 address or name
  int port = 0;
  bool tls = false;
  std::shared_ptr<const TlsClientConfig> tls_config;
  // Parses "http://host:port" or "https://host:port" (a path is ignored).
  static Result<Endpoint> Parse(std::string_view url);
  std::string ToString() const;
};

// One HTTP/1.1 connection. Not thread-safe, except Shutdown().
class Connection {
 public:
  virtual ~Connection() = default;
  static Result<std::unique_ptr<Connection>> Open(const Endpoint& ep,
                                                  std::chrono::milliseconds timeout);

  // Sends `req` and reads the whole response. Any I/O error leaves the
  // connection unusable (broken() turns true).
  virtual Result<Response> RoundTrip(const Request& req) = 0;

  // Sends `req` and reads the response head, returning its status code. The
  // body is then read piece by piece with ReadStream, without a timeout.
  virtual Result<int> StartStream(const Request& req) = 0;
  // Appends the next piece of the body to *out. False at the end of the body.
  virtual Result<bool> ReadStream(std::string* out) = 0;

  // Shuts the socket down: a blocked ReadStream returns an error. Thread-safe.
  virtual void Shutdown() = 0;
  virtual bool broken() const = 0;
  // True once a request was answered on this connection.
  virtual bool reused() const = 0;
  // True if the last failure was the peer closing the connection.
  virtual bool peer_closed() const = 0;
};

// The answer to a request asking for a protocol upgrade: on 101 Switching
// Protocols, the connection as raw bytes (`stream`); otherwise the whole
// response and a null stream.
struct Upgraded {
  Response response;
  std::shared_ptr<ByteStream> stream;
};
// Connects to `ep` and sends `req` (which carries Upgrade/Connection
// headers); `timeout` bounds connecting and the response head.
Result<Upgraded> Upgrade(const Endpoint& ep, const Request& req, std::chrono::milliseconds timeout);

// A pool of keep-alive connections to one endpoint. Thread-safe.
class Client {
 public:
  explicit Client(Endpoint ep, std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : ep_(std::move(ep)), timeout_(timeout) {}
  // Sends `req` on an idle connection (opening one if none). When a reused
  // connection turns out to have been closed by the peer before any response
  // byte arrived, the request is sent once more on a fresh connection.
  Result<Response> Do(const Request& req);
  Endpoint endpoint() const;
  // New credentials (a renewed client certificate): later connections use
  // `ep`; idle ones and those in use now are not reused.
  void SetEndpoint(Endpoint ep);

 private:
  mutable std::mutex mu_;
  Endpoint ep_;  // GUARDED_BY(mu_)
  std::chrono::milliseconds timeout_;
  uint64_t generation_ = 0;  // GUARDED_BY(mu_); counts SetEndpoint calls
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace kubepp::http
