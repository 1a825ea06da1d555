// A full-duplex byte connection with blocking calls: what an HTTP connection
// becomes after a protocol upgrade (101 Switching Protocols). The streaming
// protocols (WebSocket framing, SPDY, the API server's upgrade proxy) are
// written against this, free of Asio.
//
// Thread-safety: one thread may Read while another Writes; Close from any
// thread unblocks both.
#pragma once

#include <string>
#include <string_view>

namespace kubepp {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Blocks for the next bytes from the peer; "" at end of stream, on an
  // error, or after Close.
  virtual std::string Read() = 0;
  // Blocks until all of `data` is handed to the kernel; false once the
  // connection is broken or closed.
  virtual bool Write(std::string_view data) = 0;
  // Closes the connection. Idempotent.
  virtual void Close() = 0;
};

}  // namespace kubepp
