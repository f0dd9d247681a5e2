// The server side of WebSocket, on the port of an engine's HttpServer: a request for the
// service's path that asks to upgrade leaves the HTTP session and becomes a WebSocket
// connection (Boost.Beast behind a pimpl, like the HTTP server). The application sees
// connections and frames; each connection has a bounded send queue, so that a client that reads
// slowly never holds up the caller of send() or any other client.
//
//   struct Echo final : net::WebSocketHandler {
//     void on_open(const std::shared_ptr<net::WsConnection>& c) override {}
//     void on_message(const std::shared_ptr<net::WsConnection>& c, std::string_view data,
//                     bool binary) override {
//       c->send(0, std::make_shared<const std::string>(data), binary);
//     }
//     void on_close(const net::WsConnection& c, std::string_view reason) override {}
//   };
//   auto service = net::WebSocketService::create({.token = "secret"}, handler);
//   net::Router r;
//   r.websocket("/ws", service);      // the HttpServer hands upgrades on /ws to the service
//   ...
//   service->detach();                // before the handler goes away: no more callbacks
//
// Send queue: up to `conflate_after` frames queue as they come; beyond that depth a frame whose
// key is already queued replaces that frame in place (the latest value per topic), and a client
// whose queue still reaches `queue_frames` or `queue_bytes`, or whose oldest queued frame has
// waited `max_behind`, is disconnected with a close reason saying so. Heartbeats are Beast's:
// a ping after half of `idle_timeout` without traffic, the connection closed when nothing at
// all came back within `idle_timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::net {

// (Not WebSocketOptions: that is the client's, websocket_client.hpp. With one name for both,
// the linker kept one inline destructor for the two layouts; ASan found it at -O0.)
struct WebSocketServiceOptions {
  std::size_t max_connections = 20'000;
  std::size_t max_per_ip = 1'000;                  // open connections from one address
  std::size_t max_message_bytes = 64 * 1024;       // a larger frame from a client: closed (1009)
  std::size_t queue_frames = 1'024;                // per connection
  std::size_t queue_bytes = std::size_t{8} << 20;  // per connection
  std::size_t conflate_after = 64;              // queue depth from which a key's frame is replaced
  std::chrono::milliseconds max_behind{5'000};  // the oldest queued frame's age
  std::chrono::milliseconds handshake_timeout{5'000};
  std::chrono::milliseconds idle_timeout{30'000};
  // The kernel's send buffer per connection (SO_SNDBUF); 0: the system's. A small one makes a
  // client that stops reading show in the send queue at once rather than after megabytes.
  std::size_t send_buffer_bytes = 0;
  std::string token;  // when set: `Authorization: Bearer <token>` or `?token=<token>`
  // Sub-protocols the server speaks, in preference order; a client offering one of them gets
  // the first it offered that is listed here (WsPeer::subprotocol).
  std::vector<std::string> subprotocols;
};

struct WsPeer {
  std::string address;  // the client's IP
  std::string path;
  std::string query;        // after '?', not decoded
  std::string subprotocol;  // the one agreed, or ""
};

struct WsQueueStats {
  std::size_t frames = 0;  // queued now, the one being written included
  std::size_t bytes = 0;
  std::uint64_t sent = 0;       // frames written
  std::uint64_t conflated = 0;  // frames replaced by a later one with the same key
};

// One client. Thread-safe: send() and close() may be called from any thread.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  [[nodiscard]] virtual std::uint64_t id() const noexcept = 0;
  [[nodiscard]] virtual const WsPeer& peer() const noexcept = 0;
  // Queues a frame. `key` names what the frame is the latest value of (a topic), for
  // conflation; 0: never replaced. False when the connection is closing or closed, including
  // when this frame was the one that put it too far behind (it is then being disconnected).
  virtual bool send(std::uint64_t key, std::shared_ptr<const std::string> frame, bool binary) = 0;
  // A normal close (1000) with this reason, after the frames already queued (those not written
  // within two seconds are cut off with the connection).
  virtual void close(std::string_view reason) = 0;
  [[nodiscard]] virtual WsQueueStats queue() const = 0;
};

// The application. Callbacks run on the server's connection threads, never two at once for
// one connection.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  virtual void on_open(const std::shared_ptr<WsConnection>& c) = 0;
  virtual void on_message(const std::shared_ptr<WsConnection>& c, std::string_view data,
                          bool binary) = 0;
  // Once per opened connection; `reason` says why ("client closed: ...", "too far behind: ...").
  virtual void on_close(const WsConnection& c, std::string_view reason) = 0;
};

struct WsMetrics {
  std::uint64_t accepted = 0;  // handshakes completed
  std::uint64_t open = 0;
  std::uint64_t refused_unauthorized = 0;  // 401: no or wrong token
  std::uint64_t refused_per_ip = 0;        // 429: max_per_ip
  std::uint64_t refused_capacity = 0;      // 503: max_connections
  std::uint64_t handshake_failed = 0;      // not a valid upgrade, or it timed out
  std::uint64_t messages_in = 0;
  std::uint64_t oversize = 0;  // a client frame over max_message_bytes
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t conflated = 0;
  std::uint64_t disconnected_slow = 0;  // queue full or max_behind
  std::uint64_t timeouts = 0;           // heartbeat not answered
};

// Connections live on the threads of the HttpServer they came from: whoever holds a
// WsConnection must let it go before that server is destroyed (the websocket engine does in
// stop(), which the host calls first).
class WebSocketService {
 public:
  // `handler` must outlive the service or be detached first.
  [[nodiscard]] static std::shared_ptr<WebSocketService> create(WebSocketServiceOptions options,
                                                                WebSocketHandler* handler);
  ~WebSocketService();
  WebSocketService(const WebSocketService&) = delete;
  WebSocketService& operator=(const WebSocketService&) = delete;

  [[nodiscard]] const WebSocketServiceOptions& options() const noexcept;
  [[nodiscard]] WsMetrics metrics() const noexcept;
  // No callback starts after this returns (one running finishes first); open connections are
  // closed with `reason` and new upgrades refused (503).
  void detach(std::string_view reason = "server shutting down");

  struct Impl;
  [[nodiscard]] const std::shared_ptr<Impl>& shared_impl() const noexcept { return impl_; }

 private:
  explicit WebSocketService(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace nautilus::net
