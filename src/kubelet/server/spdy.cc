#include "kubelet/server/spdy.h"

#include <algorithm>

namespace kubepp::kubelet::server {
namespace {

#include "kubelet/server/spdy_dictionary.inc"

constexpr uint16_t kVersion = 3;
enum Type : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};
constexpr uint8_t kFlagFin = 0x01;
constexpr size_t kMaxFrame = 16 << 20;
constexpr size_t kMaxDataPiece = 32 << 10;

uint32_t Be32(const char* p) {
  return (uint32_t{static_cast<uint8_t>(p[0])} << 24) | (uint32_t{static_cast<uint8_t>(p[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(p[2])} << 8) | uint32_t{static_cast<uint8_t>(p[3])};
}

void Put32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string ControlHead(uint16_t type, uint8_t flags, size_t len) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | (kVersion >> 8)));
  f.push_back(static_cast<char>(kVersion & 0xff));
  f.push_back(static_cast<char>(type >> 8));
  f.push_back(static_cast<char>(type & 0xff));
  f.push_back(static_cast<char>(flags));
  f.push_back(static_cast<char>((len >> 16) & 0xff));
  f.push_back(static_cast<char>((len >> 8) & 0xff));
  f.push_back(static_cast<char>(len & 0xff));
  return f;
}

// Parses an uncompressed header block; false if malformed.
bool ParseHeaders(std::string_view b, std::map<std::string, std::string>* out) {
  if (b.size() < 4) return false;
  uint32_t n = Be32(b.data());
  size_t p = 4;
  for (uint32_t i = 0; i < n; ++i) {
    std::string kv[2];
    for (auto& x : kv) {
      if (b.size() - p < 4) return false;
      uint32_t len = Be32(b.data() + p);
      p += 4;
      if (b.size() - p < len) return false;
      x.assign(b.data() + p, len);
      p += len;
    }
    std::transform(kv[0].begin(), kv[0].end(), kv[0].begin(), [](unsigned char c) { return std::tolower(c); });
    (*out)[kv[0]] = kv[1];
  }
  return true;
}

}  // namespace

SpdyConn::SpdyConn(std::shared_ptr<ByteStream> stream) : stream_(std::move(stream)) {
  inflate_ok_ = inflateInit(&inflate_) == Z_OK;
  deflate_ok_ = deflateInit(&deflate_, Z_DEFAULT_COMPRESSION) == Z_OK &&
                deflateSetDictionary(&deflate_, kSpdyDictionary, sizeof kSpdyDictionary) == Z_OK;
}

SpdyConn::~SpdyConn() {
  inflateEnd(&inflate_);
  deflateEnd(&deflate_);
}

bool SpdyConn::Fill(size_t n) {
  while (buf_.size() - pos_ < n) {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    std::string more = stream_->Read();
    if (more.empty()) return false;
    buf_ += more;
  }
  return true;
}

bool SpdyConn::Inflate(std::string_view in, std::string* out) {
  if (!inflate_ok_) return false;
  inflate_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  inflate_.avail_in = static_cast<uInt>(in.size());
  char chunk[4096];
  for (;;) {
    inflate_.next_out = reinterpret_cast<Bytef*>(chunk);
    inflate_.avail_out = sizeof chunk;
    int rc = inflate(&inflate_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      if (inflateSetDictionary(&inflate_, kSpdyDictionary, sizeof kSpdyDictionary) != Z_OK) return false;
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return false;
    out->append(chunk, sizeof chunk - inflate_.avail_out);
    if (out->size() > kMaxFrame) return false;
    if (inflate_.avail_in == 0 && inflate_.avail_out != 0) return true;
    if (rc == Z_BUF_ERROR && inflate_.avail_in == 0) return true;
  }
}

SpdyConn::Event SpdyConn::Next() {
  for (;;) {
    if (!Fill(8)) break;
    const char* h = buf_.data() + pos_;
    bool control = (static_cast<uint8_t>(h[0]) & 0x80) != 0;
    uint8_t flags = static_cast<uint8_t>(h[4]);
    size_t len = (size_t{static_cast<uint8_t>(h[5])} << 16) | (size_t{static_cast<uint8_t>(h[6])} << 8) |
                 static_cast<uint8_t>(h[7]);
    if (len > kMaxFrame || !Fill(8 + len)) break;
    h = buf_.data() + pos_;
    std::string_view body(h + 8, len);
    pos_ += 8 + len;
    if (!control) {
      Event e;
      e.kind = Event::kData;
      e.stream = Be32(h) & 0x7fffffff;
      e.data.assign(body);
      e.fin = (flags & kFlagFin) != 0;
      return e;
    }
    uint16_t type = static_cast<uint16_t>((static_cast<uint8_t>(h[2]) << 8) | static_cast<uint8_t>(h[3]));
    switch (type) {
      case kSynStream: {
        if (body.size() < 10) goto broken;
        Event e;
        e.kind = Event::kStream;
        e.stream = Be32(body.data()) & 0x7fffffff;
        e.fin = (flags & kFlagFin) != 0;
        std::string block;
        if (!Inflate(body.substr(10), &block) || !ParseHeaders(block, &e.headers)) goto broken;
        return e;
      }
      case kHeaders: {
        if (body.size() < 4) goto broken;
        std::string block;  // inflated to keep the shared zlib state in step, then ignored
        if (!Inflate(body.substr(4), &block)) goto broken;
        continue;
      }
      case kRstStream: {
        if (body.size() < 8) goto broken;
        Event e;
        e.kind = Event::kReset;
        e.stream = Be32(body.data()) & 0x7fffffff;
        return e;
      }
      case kPing:
        WriteFrame(ControlHead(kPing, 0, body.size()) + std::string(body));
        continue;
      case kGoAway:
        goto broken;
      case kSynReply:  // we open no streams
      case kSettings:
      case kWindowUpdate:
      default:
        continue;
    }
  }
broken:
  Close();
  return Event{};
}

bool SpdyConn::WriteFrame(std::string frame) {
  std::lock_guard<std::mutex> l(write_mu_);
  if (broken_) return false;
  if (!stream_->Write(frame)) {
    broken_ = true;
    return false;
  }
  return true;
}

bool SpdyConn::Reply(uint32_t stream, bool fin) {
  std::lock_guard<std::mutex> l(write_mu_);
  if (broken_ || !deflate_ok_) return false;
  // An empty header block, compressed in the connection's zlib stream.
  unsigned char in[4] = {0, 0, 0, 0};
  unsigned char out[256];
  deflate_.next_in = in;
  deflate_.avail_in = sizeof in;
  deflate_.next_out = out;
  deflate_.avail_out = sizeof out;
  if (deflate(&deflate_, Z_SYNC_FLUSH) != Z_OK || deflate_.avail_in != 0) return false;
  size_t clen = sizeof out - deflate_.avail_out;
  std::string f = ControlHead(kSynReply, fin ? kFlagFin : 0, 4 + clen);
  Put32(&f, stream & 0x7fffffff);
  f.append(reinterpret_cast<char*>(out), clen);
  if (!stream_->Write(f)) {
    broken_ = true;
    return false;
  }
  return true;
}

bool SpdyConn::Data(uint32_t stream, std::string_view data, bool fin) {
  do {
    std::string_view piece = data.substr(0, kMaxDataPiece);
    data.remove_prefix(piece.size());
    bool last = data.empty();
    std::string f;
    Put32(&f, stream & 0x7fffffff);
    f.push_back(static_cast<char>(last && fin ? kFlagFin : 0));
    f.push_back(static_cast<char>((piece.size() >> 16) & 0xff));
    f.push_back(static_cast<char>((piece.size() >> 8) & 0xff));
    f.push_back(static_cast<char>(piece.size() & 0xff));
    f.append(piece);
    if (!WriteFrame(std::move(f))) return false;
  } while (!data.empty());
  return true;
}

bool SpdyConn::Reset(uint32_t stream, uint32_t status) {
  std::string f = ControlHead(kRstStream, 0, 8);
  Put32(&f, stream & 0x7fffffff);
  Put32(&f, status);
  return WriteFrame(std::move(f));
}

void SpdyConn::Close() {
  std::lock_guard<std::mutex> l(write_mu_);
  broken_ = true;
  stream_->Close();
}

}  // namespace kubepp::kubelet::server
