// The server side of RFC 6455 over a ByteStream taken from the HTTP server:
// the handshake answer and message framing. The kubelet's exec, attach and
// port-forward speak their channel protocols over it (the API server only
// relays the bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_stream.h"

namespace kubepp::kubelet::server {

// The value of Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string WebSocketAccept(std::string_view key);

// The 101 answer to a WebSocket upgrade request, choosing `subprotocol`
// (omitted if empty).
std::string WebSocketUpgradeResponse(std::string_view key, std::string_view subprotocol);

// A WebSocket connection after the handshake. One thread reads; any thread
// sends (messages are written whole, under a lock).
class WsConn {
 public:
  explicit WsConn(std::shared_ptr<ByteStream> stream) : stream_(std::move(stream)) {}

  struct Message {
    bool binary = true;
    std::string data;
  };
  // The next data message (fragments joined); pings are answered here.
  // nullopt once the peer sent a close frame or the connection ended or
  // broke the protocol (then the connection is closed).
  std::optional<Message> Read();

  // Sends one message. False once the connection is gone.
  bool Send(std::string_view data, bool binary = true);
  // Sends a close frame with `code` (1000: normal) once, keeping the
  // connection open for the peer's answering close (closing at once could
  // reset the connection and lose what is still in flight to the peer).
  void SendClose(uint16_t code = 1000);
  // SendClose, then closes the connection.
  void Close(uint16_t code = 1000);

  // Messages larger than this end the connection (1009).
  static constexpr size_t kMaxMessage = 32 << 20;

 private:
  bool Fill(size_t n);  // until buf_ holds n unread bytes; false at the end
  bool SendFrame(uint8_t opcode, std::string_view payload);

  std::shared_ptr<ByteStream> stream_;
  std::string buf_;  // reader only
  size_t pos_ = 0;
  std::mutex write_mu_;
  bool closed_ = false;      // GUARDED_BY(write_mu_)
  bool close_sent_ = false;  // GUARDED_BY(write_mu_)
};

// A ByteStream whose bytes travel as binary messages of a WebSocket: the
// transport of SPDY tunnelled in WebSocket (SPDY/3.1+portforward.k8s.io).
class WsByteStream : public ByteStream {
 public:
  explicit WsByteStream(std::shared_ptr<WsConn> ws) : ws_(std::move(ws)) {}
  std::string Read() override;
  bool Write(std::string_view data) override { return ws_->Send(data, true); }
  void Close() override { ws_->Close(); }

 private:
  std::shared_ptr<WsConn> ws_;
};

}  // namespace kubepp::kubelet::server
