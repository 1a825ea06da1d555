// The server side of SPDY/3.1 framing over a ByteStream, as the streaming
// clients use it (Go's spdystream, under kubectl exec and port-forward):
// the client opens streams with SYN_STREAM (headers compressed with zlib and
// SPDY's dictionary), we answer SYN_REPLY and exchange DATA frames, FIN
// ending a direction. PINGs are echoed. Like spdystream, no flow control
// is enforced in either direction.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/byte_stream.h"

namespace kubepp::kubelet::server {

class SpdyConn {
 public:
  explicit SpdyConn(std::shared_ptr<ByteStream> stream);
  ~SpdyConn();
  SpdyConn(const SpdyConn&) = delete;
  SpdyConn& operator=(const SpdyConn&) = delete;

  struct Event {
    enum Kind { kStream, kData, kReset, kEnd } kind = kEnd;
    uint32_t stream = 0;
    std::map<std::string, std::string> headers;  // kStream: names lower-case
    std::string data;                            // kData
    bool fin = false;                            // kStream, kData: the peer's side is done
  };
  // The next event from the peer (one reader thread). kEnd once the
  // connection ended, the peer sent GOAWAY, or broke the protocol.
  Event Next();

  // Any thread. False once the connection is gone.
  bool Reply(uint32_t stream, bool fin = false);
  bool Data(uint32_t stream, std::string_view data, bool fin = false);
  bool Reset(uint32_t stream, uint32_t status = 5 /* CANCEL */);
  void Close();

 private:
  bool Fill(size_t n);
  bool Inflate(std::string_view in, std::string* out);
  bool WriteFrame(std::string frame);

  std::shared_ptr<ByteStream> stream_;
  std::string buf_;  // reader only
  size_t pos_ = 0;
  z_stream inflate_{};
  bool inflate_ok_ = false;
  std::mutex write_mu_;
  z_stream deflate_{};  // GUARDED_BY(write_mu_)
  bool deflate_ok_ = false;
  bool broken_ = false;  // GUARDED_BY(write_mu_)
};

}  // namespace kubepp::kubelet::server
