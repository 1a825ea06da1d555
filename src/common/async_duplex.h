// ByteStream over an Asio stream (TCP, or TLS over TCP), for the files of
// the HTTP layer only: blocking Read/Write calls from any thread post the
// asynchronous operation to the stream's executor and wait for it, so a
// reader and a writer may run at once on a TLS stream (which allows one
// outstanding read and one write on its strand, never two threads inside
// it). The stream's executor must be run by some thread (the server's I/O
// threads, or the client's own).
#pragma once

#include <atomic>
#include <future>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "common/byte_stream.h"

namespace kubepp {

template <class StreamT>
class AsyncDuplex : public ByteStream {
 public:
  // `leftover`: bytes already read past the HTTP head, returned first.
  AsyncDuplex(StreamT&& stream, std::string leftover) : stream_(std::move(stream)), leftover_(std::move(leftover)) {}
  ~AsyncDuplex() override { Close(); }

  std::string Read() override {
    if (!leftover_.empty()) return std::exchange(leftover_, {});
    if (closed_.load()) return {};
    std::promise<std::string> done;
    auto f = done.get_future();
    boost::asio::dispatch(stream_.get_executor(), [this, &done] {
      if (closed_.load()) return done.set_value({});
      rbuf_.resize(64 << 10);
      stream_.async_read_some(boost::asio::buffer(rbuf_), [this, &done](boost::system::error_code ec, size_t n) {
        done.set_value(ec ? std::string() : rbuf_.substr(0, n));
      });
    });
    return f.get();
  }

  bool Write(std::string_view data) override {
    if (closed_.load()) return false;
    if (data.empty()) return true;
    std::promise<bool> done;
    auto f = done.get_future();
    boost::asio::dispatch(stream_.get_executor(), [this, data, &done] {
      if (closed_.load()) return done.set_value(false);
      boost::asio::async_write(stream_, boost::asio::buffer(data.data(), data.size()),
                               [&done](boost::system::error_code ec, size_t) { done.set_value(!ec); });
    });
    return f.get();
  }

  void Close() override {
    if (closed_.exchange(true)) return;
    std::promise<void> done;
    auto f = done.get_future();
    boost::asio::dispatch(stream_.get_executor(), [this, &done] {
      boost::system::error_code ec;
      auto& sock = boost::beast::get_lowest_layer(stream_);
      if constexpr (requires { sock.socket(); }) {
        sock.socket().shutdown(boost::asio::socket_base::shutdown_both, ec);
        sock.socket().close(ec);
      } else {
        sock.shutdown(boost::asio::socket_base::shutdown_both, ec);
        sock.close(ec);
      }
      done.set_value();
    });
    f.get();
  }

 private:
  StreamT stream_;
  std::string leftover_;  // touched only by the reader
  std::string rbuf_;      // on the executor
  std::atomic<bool> closed_{false};
};

}  // namespace kubepp
