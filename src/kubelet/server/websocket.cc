#include "kubelet/server/websocket.h"

#include <openssl/sha.h>

#include <cstring>

#include "common/base64.h"

namespace kubepp::kubelet::server {
namespace {

enum Opcode : uint8_t { kCont = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

}  // namespace

std::string WebSocketAccept(std::string_view key) {
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string WebSocketUpgradeResponse(std::string_view key, std::string_view subprotocol) {
  std::string h =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  h += WebSocketAccept(key);
  h += "\r\n";
  if (!subprotocol.empty()) {
    h += "Sec-WebSocket-Protocol: ";
    h += subprotocol;
    h += "\r\n";
  }
  h += "\r\n";
  return h;
}

bool WsConn::Fill(size_t n) {
  while (buf_.size() - pos_ < n) {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    std::string more = stream_->Read();
    if (more.empty()) return false;
    buf_ += more;
  }
  return true;
}

std::optional<WsConn::Message> WsConn::Read() {
  Message msg;
  bool in_message = false;
  for (;;) {
    if (!Fill(2)) break;
    auto b0 = static_cast<uint8_t>(buf_[pos_]), b1 = static_cast<uint8_t>(buf_[pos_ + 1]);
    bool fin = (b0 & 0x80) != 0;
    uint8_t op = b0 & 0x0f;
    bool masked = (b1 & 0x80) != 0;
    uint64_t len = b1 & 0x7f;
    size_t head = 2;
    if (len == 126) {
      if (!Fill(4)) break;
      len = (uint64_t{static_cast<uint8_t>(buf_[pos_ + 2])} << 8) | static_cast<uint8_t>(buf_[pos_ + 3]);
      head = 4;
    } else if (len == 127) {
      if (!Fill(10)) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(buf_[pos_ + 2 + i]);
      head = 10;
    }
    if (len > kMaxMessage || msg.data.size() + len > kMaxMessage) {
      Close(1009);
      return std::nullopt;
    }
    if (!masked) {  // clients must mask (RFC 6455 5.1)
      Close(1002);
      return std::nullopt;
    }
    if (!Fill(head + 4 + len)) break;
    const char* mask = buf_.data() + pos_ + head;
    std::string payload(buf_.data() + pos_ + head + 4, len);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    pos_ += head + 4 + len;
    switch (op) {
      case kPing:
        SendFrame(kPong, payload);
        continue;
      case kPong:
        continue;
      case kClose: {
        uint16_t code = 1000;
        if (payload.size() >= 2) {
          code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
        }
        Close(code == 1005 || code == 1006 ? 1000 : code);
        return std::nullopt;
      }
      case kText:
      case kBinary:
        if (in_message) {
          Close(1002);
          return std::nullopt;
        }
        in_message = true;
        msg.binary = op == kBinary;
        msg.data = std::move(payload);
        break;
      case kCont:
        if (!in_message) {
          Close(1002);
          return std::nullopt;
        }
        msg.data += payload;
        break;
      default:
        Close(1002);
        return std::nullopt;
    }
    if (fin) return msg;
  }
  std::lock_guard<std::mutex> l(write_mu_);
  closed_ = true;
  stream_->Close();
  return std::nullopt;
}

bool WsConn::SendFrame(uint8_t opcode, std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 10);
  frame.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xffff) {
    frame.push_back(126);
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    frame.push_back(127);
    for (int i = 7; i >= 0; --i) frame.push_back(static_cast<char>((uint64_t{payload.size()} >> (8 * i)) & 0xff));
  }
  frame.append(payload);
  std::lock_guard<std::mutex> l(write_mu_);
  if (closed_) return false;
  if (!stream_->Write(frame)) {
    closed_ = true;
    return false;
  }
  return true;
}

bool WsConn::Send(std::string_view data, bool binary) { return SendFrame(binary ? kBinary : kText, data); }

void WsConn::SendClose(uint16_t code) {
  {
    std::lock_guard<std::mutex> l(write_mu_);
    if (close_sent_) return;
    close_sent_ = true;
  }
  char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  SendFrame(kClose, std::string_view(payload, 2));
}

void WsConn::Close(uint16_t code) {
  SendClose(code);
  std::lock_guard<std::mutex> l(write_mu_);
  closed_ = true;
  stream_->Close();
}

std::string WsByteStream::Read() {
  for (;;) {
    auto m = ws_->Read();
    if (!m) return {};
    if (!m->data.empty()) return std::move(m->data);
  }
}

}  // namespace kubepp::kubelet::server
