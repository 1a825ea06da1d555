// The streaming protocols' framing, against byte-exact frames a client
// sends (the end-to-end runs with kubectl and the Python client are in
// tests/e2e/node_test.py).
#include <gtest/gtest.h>
#include <zlib.h>

#include <deque>
#include <mutex>

#include "kubelet/server/spdy.h"
#include "kubelet/server/streaming.h"
#include "kubelet/server/websocket.h"
#include "kubelet/shim/shim.h"

namespace kubepp::kubelet::server {
namespace {

// A connection whose peer is the test: reads come from `in`, writes
// collect in `out`.
class Wire : public ByteStream {
 public:
  explicit Wire(std::deque<std::string> in) : in_(std::move(in)) {}
  std::string Read() override {
    std::lock_guard<std::mutex> l(mu_);
    if (in_.empty()) return {};
    std::string s = std::move(in_.front());
    in_.pop_front();
    return s;
  }
  bool Write(std::string_view d) override {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return false;
    out_.append(d);
    return true;
  }
  void Close() override {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  std::string out() {
    std::lock_guard<std::mutex> l(mu_);
    return out_;
  }
  bool closed() {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  std::deque<std::string> in_;
  std::string out_;
  bool closed_ = false;
};

// A masked client frame.
std::string ClientFrame(uint8_t opcode, std::string_view payload, bool fin = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

TEST(WebSocket, AcceptKeyIsRfc6455s) {
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string r = WebSocketUpgradeResponse("dGhlIHNhbXBsZSBub25jZQ==", "v5.channel.k8s.io");
  EXPECT_NE(r.find("101 Switching Protocols\r\n"), std::string::npos);
  EXPECT_NE(r.find("Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"), std::string::npos);
}

TEST(WebSocket, JoinsFragmentsAnswersPingsAndFrames) {
  std::string bytes = ClientFrame(2, std::string_view("\x00he", 3), false) + ClientFrame(9, "p") + ClientFrame(0, "llo") +
                      ClientFrame(2, std::string(300, 'x'));
  // Split at awkward places: frames arrive in pieces.
  auto wire = std::make_shared<Wire>(std::deque<std::string>{bytes.substr(0, 3), bytes.substr(3, 10), bytes.substr(13)});
  WsConn ws(wire);
  auto m = ws.Read();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->binary);
  EXPECT_EQ(m->data, std::string("\x00hello", 6));
  EXPECT_EQ(wire->out(), std::string("\x8a\x01p", 3));  // the pong
  m = ws.Read();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, std::string(300, 'x'));
  EXPECT_FALSE(ws.Read());  // the end of the connection
  EXPECT_TRUE(wire->closed());

  auto w2 = std::make_shared<Wire>(std::deque<std::string>{});
  WsConn out(w2);
  ASSERT_TRUE(out.Send(std::string(200, 'y')));
  EXPECT_EQ(w2->out().substr(0, 4), std::string("\x82\x7e\x00\xc8", 4));  // unmasked, 16-bit length
  out.Close(1000);
  EXPECT_EQ(w2->out().substr(204), std::string("\x88\x02\x03\xe8", 4));
  EXPECT_FALSE(out.Send("late"));
}

TEST(WebSocket, UnmaskedClientFramesEndTheConnection) {
  std::string f = "\x82\x01x";
  auto wire = std::make_shared<Wire>(std::deque<std::string>{f});
  WsConn ws(wire);
  EXPECT_FALSE(ws.Read());
  EXPECT_EQ(wire->out(), std::string("\x88\x02\x03\xea", 4));  // 1002 protocol error
}

#include "kubelet/server/spdy_dictionary.inc"

// A client's SYN_STREAM with headers compressed as Go's spdy framer does.
class SpdyClient {
 public:
  SpdyClient() {
    deflateInit(&z_, Z_DEFAULT_COMPRESSION);
    deflateSetDictionary(&z_, kSpdyDictionary, sizeof kSpdyDictionary);
  }
  ~SpdyClient() { deflateEnd(&z_); }
  std::string SynStream(uint32_t id, const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string block;
    Put32(&block, static_cast<uint32_t>(headers.size()));
    for (const auto& [k, v] : headers) {
      Put32(&block, static_cast<uint32_t>(k.size()));
      block += k;
      Put32(&block, static_cast<uint32_t>(v.size()));
      block += v;
    }
    unsigned char out[4096];
    z_.next_in = reinterpret_cast<Bytef*>(block.data());
    z_.avail_in = static_cast<uInt>(block.size());
    z_.next_out = out;
    z_.avail_out = sizeof out;
    deflate(&z_, Z_SYNC_FLUSH);
    std::string body;
    Put32(&body, id);
    Put32(&body, 0);
    body += std::string("\0\0", 2);
    body.append(reinterpret_cast<char*>(out), sizeof out - z_.avail_out);
    return Control(1, 0, body);
  }
  static std::string Control(uint16_t type, uint8_t flags, const std::string& body) {
    std::string f = {static_cast<char>(0x80), 3, static_cast<char>(type >> 8), static_cast<char>(type & 0xff),
                     static_cast<char>(flags)};
    f.push_back(static_cast<char>((body.size() >> 16) & 0xff));
    f.push_back(static_cast<char>((body.size() >> 8) & 0xff));
    f.push_back(static_cast<char>(body.size() & 0xff));
    return f + body;
  }
  static std::string Data(uint32_t id, std::string_view d, bool fin) {
    std::string f;
    Put32(&f, id);
    f.push_back(fin ? 1 : 0);
    f.push_back(static_cast<char>((d.size() >> 16) & 0xff));
    f.push_back(static_cast<char>((d.size() >> 8) & 0xff));
    f.push_back(static_cast<char>(d.size() & 0xff));
    return f + std::string(d);
  }
  static void Put32(std::string* s, uint32_t v) {
    for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }

 private:
  z_stream z_{};
};

TEST(Spdy, StreamsHeadersDataPingsAndReplies) {
  SpdyClient client;
  // In order: the header blocks share one zlib stream.
  std::string bytes = client.SynStream(1, {{"streamtype", "error"}, {"port", "80"}, {"requestid", "0"}});
  bytes += client.SynStream(3, {{"StreamType", "data"}, {"port", "80"}, {"requestid", "0"}});
  bytes += SpdyClient::Control(6, 0, std::string("\0\0\0\x07", 4)) + SpdyClient::Data(3, "GET /", false) +
                      SpdyClient::Data(3, "", true) + SpdyClient::Control(3, 0, std::string("\0\0\0\x03\0\0\0\x05", 8));
  auto wire = std::make_shared<Wire>(std::deque<std::string>{bytes.substr(0, 7), bytes.substr(7)});
  SpdyConn spdy(wire);
  auto e = spdy.Next();
  ASSERT_EQ(e.kind, SpdyConn::Event::kStream);
  EXPECT_EQ(e.stream, 1u);
  EXPECT_EQ(e.headers["streamtype"], "error");
  e = spdy.Next();  // the second header block continues the same zlib stream
  ASSERT_EQ(e.kind, SpdyConn::Event::kStream);
  EXPECT_EQ(e.stream, 3u);
  EXPECT_EQ(e.headers["streamtype"], "data");  // names lower-cased
  EXPECT_EQ(e.headers["requestid"], "0");
  e = spdy.Next();  // the ping was answered on the way
  ASSERT_EQ(e.kind, SpdyConn::Event::kData);
  EXPECT_EQ(e.data, "GET /");
  EXPECT_FALSE(e.fin);
  EXPECT_EQ(wire->out(), SpdyClient::Control(6, 0, std::string("\0\0\0\x07", 4)));
  e = spdy.Next();
  ASSERT_EQ(e.kind, SpdyConn::Event::kData);
  EXPECT_TRUE(e.fin);
  e = spdy.Next();
  ASSERT_EQ(e.kind, SpdyConn::Event::kReset);
  EXPECT_EQ(e.stream, 3u);
  EXPECT_EQ(spdy.Next().kind, SpdyConn::Event::kEnd);

  auto w2 = std::make_shared<Wire>(std::deque<std::string>{});
  SpdyConn out(w2);
  ASSERT_TRUE(out.Reply(5));
  std::string reply = w2->out();
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(reply.substr(0, 5), std::string("\x80\x03\x00\x02\x00", 5));
  EXPECT_EQ(reply.substr(8, 4), std::string("\0\0\0\x05", 4));
  // The header block inflates (with the dictionary) to zero headers.
  z_stream z{};
  inflateInit(&z);
  std::string block = reply.substr(12);
  unsigned char plain[64];
  z.next_in = reinterpret_cast<Bytef*>(block.data());
  z.avail_in = static_cast<uInt>(block.size());
  z.next_out = plain;
  z.avail_out = sizeof plain;
  int rc = inflate(&z, Z_SYNC_FLUSH);
  if (rc == Z_NEED_DICT) {
    inflateSetDictionary(&z, kSpdyDictionary, sizeof kSpdyDictionary);
    rc = inflate(&z, Z_SYNC_FLUSH);
  }
  EXPECT_EQ(sizeof plain - z.avail_out, 4u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(plain), 4), std::string(4, '\0'));
  inflateEnd(&z);
  ASSERT_TRUE(out.Data(5, "hi", true));
  EXPECT_EQ(w2->out().substr(reply.size()), SpdyClient::Data(5, "hi", true));
}

TEST(Streaming, NegotiatesUpstreamsProtocols) {
  apiserver::http::Request r;
  r.method = "GET";
  r.headers = {{"connection", "Upgrade"}, {"upgrade", "websocket"}, {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"sec-websocket-protocol", "v5.channel.k8s.io"}};
  auto n = Negotiate(r, false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->protocol, "v5.channel.k8s.io");
  r.headers[3].second = "v4.channel.k8s.io";
  EXPECT_EQ(Negotiate(r, false)->protocol, "v4.channel.k8s.io");
  EXPECT_EQ(Negotiate(r, true)->protocol, "v4.channel.k8s.io");  // Python's port-forward
  r.headers[3].second = "SPDY/3.1+portforward.k8s.io";
  EXPECT_EQ(Negotiate(r, true)->protocol, "SPDY/3.1+portforward.k8s.io");
  r.headers[3].second = "v9.channel.k8s.io";
  auto bad = Negotiate(r, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unable to negotiate protocol"), std::string::npos);

  apiserver::http::Request s;
  s.method = "POST";
  s.headers = {{"connection", "Upgrade"}, {"upgrade", "SPDY/3.1"}, {"x-stream-protocol-version", "v5.channel.k8s.io"},
               {"x-stream-protocol-version", "v4.channel.k8s.io"}, {"x-stream-protocol-version", "channel.k8s.io"}};
  n = Negotiate(s, false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->transport, Negotiated::kSpdy);
  EXPECT_EQ(n->protocol, "v4.channel.k8s.io");
  EXPECT_NE(n->response.find("X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"), std::string::npos);

  apiserver::http::Request plain;
  plain.method = "GET";
  EXPECT_EQ(Negotiate(plain, false).status().message(), "Upgrade request required");
}

TEST(Streaming, ExitStatusesAsKubectlReadsThem) {
  EXPECT_EQ(ExitStatusJson(0), R"({"metadata":{},"status":"Success"})");
  EXPECT_EQ(ExitStatusJson(3),
            R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3",)"
            R"("reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
  std::string internal = ExitStatusJson(Status::Internal("boom"));
  EXPECT_NE(internal.find(R"("reason":"InternalError")"), std::string::npos);
  EXPECT_NE(internal.find(R"("code":500)"), std::string::npos);
}

TEST(Streaming, StreamOptionsTakeCurrentAndLegacyNames) {
  auto o = StreamOptions::FromQuery("command=ls&stdin=true&stdout=1&tty=true&stderr=true");
  EXPECT_TRUE(o.stdin && o.stdout && o.tty);
  EXPECT_FALSE(o.stderr);  // a terminal carries both
  o = StreamOptions::FromQuery("input=1&output=1&error=1");
  EXPECT_TRUE(o.stdin && o.stdout && o.stderr);
}

TEST(Shim, AttachFramesRoundTrip) {
  std::string buf = shim::EncodeAttachFrame(shim::AttachFrame::kStdout, "hello") +
                    shim::EncodeAttachFrame(shim::AttachFrame::kResize, std::string("\0\x50\0\x18", 4));
  std::string partial = buf.substr(0, 7);
  EXPECT_FALSE(shim::DecodeAttachFrame(&partial));
  auto f = shim::DecodeAttachFrame(&buf);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first, shim::AttachFrame::kStdout);
  EXPECT_EQ(f->second, "hello");
  f = shim::DecodeAttachFrame(&buf);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first, shim::AttachFrame::kResize);
  EXPECT_EQ(f->second.size(), 4u);
  EXPECT_TRUE(buf.empty());
}

}  // namespace
}  // namespace kubepp::kubelet::server
