#include "apiserver/http/websocket.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <mutex>
#include <optional>

#include "common/log.h"

namespace kubepp::apiserver::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

const log::Logger& Log() {
  static const log::Logger logger("http");
  return logger;
}

// A connection after a WebSocket upgrade. Writes queue from any thread and
// go out one message at a time on the connection's strand; one read loop
// takes the peer's messages (and answers pings and closes).
class WsSession : public WebSocket, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(std::string remote, size_t max_backlog) : remote_(std::move(remote)), max_backlog_(max_backlog) {}

  // On the connection's strand.
  void Start(TlsStream&& stream, std::shared_ptr<UpgradeRequest> req, std::string subprotocol, MessageFn on_message) {
    on_message_ = std::move(on_message);
    ws_.emplace(std::move(stream));
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_->set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
      if (!subprotocol.empty()) res.set(bhttp::field::sec_websocket_protocol, subprotocol);
    }));
    ws_->read_message_max(16 << 20);
    ws_->async_accept(*req, [self = this->shared_from_this(), req](beast::error_code ec) {
      if (ec) {
        Log().V(2, "websocket handshake failed", {{"remote", self->remote_}, {"err", ec.message()}});
        self->Closed();
        return;
      }
      self->open_ = true;
      self->DoRead();
      self->Pump();
    });
  }

  bool Send(std::string data, bool binary) override {
    if (closed_.load()) return false;
    bool overflow = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finish_requested_) return false;
      queued_ += data.size();
      if (queued_ > max_backlog_) {
        overflow = true;
      } else {
        out_.emplace_back(std::move(data), binary);
      }
    }
    if (overflow) Log().V(1, "closing a websocket whose reader fell behind", {{"remote", remote_}});
    Kick(overflow);
    return !overflow;
  }
  bool Write(std::string data) override { return Send(std::move(data), false); }
  void Finish() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finish_requested_) return;
      finish_requested_ = true;
    }
    Kick(false);
  }
  bool closed() const override { return closed_.load(); }
  void OnClose(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!closed_.load()) {
        on_close_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }
  void set_executor(asio::any_io_executor ex) { executor_ = std::move(ex); }

 private:
  void Kick(bool abort) {
    asio::dispatch(executor_, [self = this->shared_from_this(), abort] {
      if (abort) {
        self->Closed();
        return;
      }
      self->Pump();
    });
  }

  void DoRead() {
    ws_->async_read(rbuf_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->Closed();
        return;
      }
      std::string data = beast::buffers_to_string(self->rbuf_.data());
      self->rbuf_.consume(self->rbuf_.size());
      if (self->on_message_) self->on_message_(std::move(data), self->ws_->got_binary());
      self->DoRead();
    });
  }

  void Pump() {
    if (!open_ || writing_ || closed_.load()) return;
    bool close = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (out_.empty()) {
        if (!finish_requested_) return;
        close = true;
      } else {
        writing_msg_ = std::move(out_.front());
        out_.pop_front();
        queued_ -= writing_msg_.first.size();
      }
    }
    writing_ = true;
    auto self = this->shared_from_this();
    if (close) {
      ws_->async_close(websocket::close_code::normal, [self](beast::error_code) {
        self->writing_ = false;
        self->Closed();
      });
      return;
    }
    ws_->binary(writing_msg_.second);
    ws_->async_write(asio::buffer(writing_msg_.first), [self](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) {
        self->Closed();
        return;
      }
      self->Pump();
    });
  }

  // On the strand: the connection is over, for whatever reason.
  void Closed() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closed_.exchange(true)) return;
      callbacks.swap(on_close_);
      out_.clear();
      queued_ = 0;
    }
    for (auto& fn : callbacks) fn();
    if (ws_) {
      beast::error_code ec;
      beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*ws_).socket().close(ec);
    }
  }

  std::string remote_;
  size_t max_backlog_;
  asio::any_io_executor executor_;
  std::optional<websocket::stream<TlsStream>> ws_;  // strand
  beast::flat_buffer rbuf_;                        // strand
  MessageFn on_message_;
  bool open_ = false;                              // strand
  bool writing_ = false;                           // strand
  std::pair<std::string, bool> writing_msg_;       // strand
  std::mutex mu_;
  std::deque<std::pair<std::string, bool>> out_;   // GUARDED_BY(mu_)
  size_t queued_ = 0;                              // GUARDED_BY(mu_)
  bool finish_requested_ = false;                  // GUARDED_BY(mu_)
  std::vector<std::function<void()>> on_close_;    // GUARDED_BY(mu_)
  std::atomic<bool> closed_{false};
};

}  // namespace

std::shared_ptr<WebSocket> NewWebSocket(asio::any_io_executor strand, size_t max_backlog, std::string remote) {
  auto ws = std::make_shared<WsSession>(std::move(remote), max_backlog);
  ws->set_executor(std::move(strand));
  return ws;
}

void StartWebSocket(const std::shared_ptr<WebSocket>& ws, TlsStream&& stream, std::shared_ptr<UpgradeRequest> req,
                    std::string subprotocol, MessageFn on_message) {
  std::static_pointer_cast<WsSession>(ws)->Start(std::move(stream), std::move(req), std::move(subprotocol),
                                                 std::move(on_message));
}

}  // namespace kubepp::apiserver::http
