// A blocking WebSocket client for the MarketData hub's streaming sources: ws:// and wss://
// (OpenSSL, peer and host name verified against the system CAs plus an optional CA file, SNI),
// a deadline on connecting, on each send and on each receive, so a server that stalls is
// noticed. Pings are answered while a receive or send runs. One thread owns a client; only the
// `cancel` flag may be set from another thread. Beast stays in src/net.
//
//   auto ws = net::WebSocketClient::connect("wss://stream.binance.com:9443/ws", {.timeout = 5s});
//   if (!ws) return ws.error();
//   (void)ws->send(R"({"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1})");
//   while (auto frame = ws->receive(30s)) handle(*frame);   // kTimeout: nothing came in time
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/net/http_client.hpp"

namespace nautilus::net {

struct WebSocketOptions {
  std::chrono::milliseconds timeout{10'000};  // resolve + TCP + TLS + upgrade
  std::string ca_file;                        // extra trusted CA certificates (PEM)
  std::string user_agent = "nautilus/0.1";
  std::size_t max_frame_bytes = std::size_t{1} << 20;  // a larger message fails the receive
  // Extra headers on the upgrade request (a Cookie for a gateway session, say).
  std::vector<std::pair<std::string, std::string>> headers;
  // Set from another thread to make a blocked connect, send or receive return kClosed within
  // about 25 ms (a stream's owner stopping). Must outlive the client.
  const std::atomic<bool>* cancel = nullptr;
};

// ws://host[:port]/path or wss://...; the port defaults to 80 and 443.
[[nodiscard]] core::Result<Url> parse_ws_url(std::string_view url);

class WebSocketClient {
 public:
  using Options = WebSocketOptions;

  // Errors name the host and the step that failed (resolve, connect, TLS handshake, upgrade).
  [[nodiscard]] static core::Result<WebSocketClient> connect(std::string_view url,
                                                             const WebSocketOptions& options = {});
  WebSocketClient(WebSocketClient&&) noexcept;
  WebSocketClient& operator=(WebSocketClient&&) noexcept;
  // Drops the connection without a close handshake (close() first for a polite goodbye).
  ~WebSocketClient();

  // One text frame. kTimeout when the peer does not take it in time; the connection is then
  // unusable, as after any error.
  [[nodiscard]] core::Result<void> send(
      std::string_view text, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next data message (text or binary). kTimeout when none came within `timeout` (the
  // connection stays usable and the read goes on at the next call); kClosed when the server
  // closed or dropped the connection; kCapacity for a message over max_frame_bytes; kIo else.
  [[nodiscard]] core::Result<std::string> receive(std::chrono::milliseconds timeout);
  // The same into `frame`, reusing its capacity.
  [[nodiscard]] core::Result<void> receive_into(std::string& frame,
                                                std::chrono::milliseconds timeout);
  // The close handshake, waiting at most `timeout`, then the socket is closed.
  void close(std::chrono::milliseconds timeout = std::chrono::seconds(1));

  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] const std::string& host() const noexcept;
  // Pings and pongs the peer sent: a server that only pings (an idle symbol) is not stalled.
  [[nodiscard]] std::uint64_t control_frames() const noexcept;

  struct Impl;

 private:
  explicit WebSocketClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::net
