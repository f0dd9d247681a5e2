// The hand-over from an HTTP session to the WebSocket service (private to src/net): the HTTP
// side has read a request that asks to upgrade on a path with a service; the socket and that
// request move to the service, which answers the handshake (or refuses it with an HTTP status).
// Over TLS the stream moves with its TLS state, the handshake already done.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "nautilus/net/websocket_server.hpp"

namespace nautilus::net::detail {

void accept_websocket(WebSocketService& service, boost::asio::ip::tcp::socket socket,
                      boost::beast::http::request<boost::beast::http::string_body> request);
void accept_websocket(WebSocketService& service,
                      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream,
                      boost::beast::http::request<boost::beast::http::string_body> request);

}  // namespace nautilus::net::detail
