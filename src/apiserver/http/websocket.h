// WebSocket connections of the HTTP server (internal to src/apiserver/http):
// a TLS connection whose request asked for an upgrade becomes a WebSocket
// (server.h describes the interface handlers see). Kept in its own
// translation unit: Beast's websocket templates are the heaviest part of the
// server to compile, and two files build in parallel.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "apiserver/http/server.h"

namespace kubepp::apiserver::http {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

// A WebSocket not yet started: writes queue until the handshake completes.
std::shared_ptr<WebSocket> NewWebSocket(boost::asio::any_io_executor strand, size_t max_backlog, std::string remote);

// Takes over `stream` and answers `req` with 101 (and `subprotocol`).
// REQUIRES: on the connection's strand; `ws` came from NewWebSocket.
void StartWebSocket(const std::shared_ptr<WebSocket>& ws, TlsStream&& stream, std::shared_ptr<UpgradeRequest> req,
                    std::string subprotocol, MessageFn on_message);

}  // namespace kubepp::apiserver::http
