// The Beast side of WebSocketService. A connection lives on the thread of the HTTP session it
// came from (one single-threaded io_context per server thread), so its handlers need no strand;
// send() and close() come from other threads and meet those handlers under the connection's
// mutex, which guards only the send queue.
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "nautilus/net/http.hpp"
#include "websocket_accept.hpp"

namespace nautilus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;

namespace {

struct Counters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> refused_unauthorized{0};
  std::atomic<std::uint64_t> refused_per_ip{0};
  std::atomic<std::uint64_t> refused_capacity{0};
  std::atomic<std::uint64_t> handshake_failed{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> oversize{0};
  std::atomic<std::uint64_t> frames_out{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> conflated{0};
  std::atomic<std::uint64_t> disconnected_slow{0};
  std::atomic<std::uint64_t> timeouts{0};
};

void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

// A close frame's reason is at most 123 bytes (RFC 6455 5.5: 125 less the code).
std::string close_text(std::string_view reason) { return std::string(reason.substr(0, 123)); }

// How long a connection that is being closed may take to finish before its socket is shut:
// a client that does not read cannot take our close frame, nor answer it.
constexpr std::chrono::seconds kCloseGrace{2};

}  // namespace

// What the service holds of a connection, plaintext or TLS alike.
class WsSessionBase : public WsConnection {
 public:
  virtual void going_away(std::string_view reason) = 0;
};

struct WebSocketService::Impl {
  WebSocketServiceOptions options;
  Counters counters;

  // Callbacks hold it shared; detach() takes it exclusively to clear the handler.
  std::shared_mutex handler_mu;
  WebSocketHandler* handler = nullptr;
  std::atomic<bool> detached{false};

  std::mutex mu;  // the two maps
  std::unordered_map<std::string, std::size_t> per_ip;
  std::unordered_map<std::uint64_t, std::weak_ptr<WsSessionBase>> sessions;
  std::size_t reserved = 0;  // connections counted against max_connections
  std::atomic<std::uint64_t> next_id{1};

  // A slot for a new connection from `ip`, or the HTTP status that refuses it.
  int reserve(const std::string& ip) {
    std::lock_guard lock(mu);
    if (detached.load() || reserved >= options.max_connections) {
      bump(counters.refused_capacity);
      return 503;
    }
    auto& n = per_ip[ip];
    if (n >= options.max_per_ip) {
      bump(counters.refused_per_ip);
      return 429;
    }
    ++n;
    ++reserved;
    return 0;
  }
  void release(const std::string& ip, std::uint64_t id) {
    std::lock_guard lock(mu);
    if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second == 0) per_ip.erase(it);
    --reserved;
    sessions.erase(id);
  }
};

namespace {

// The answer to an upgrade that is refused: an HTTP response, then the socket is closed.
template <class Next>
void refuse(Next socket, int status, std::string_view why, unsigned version) {
  struct Refusal {
    Next socket;
    http::response<http::string_body> response;
  };
  auto r = std::make_shared<Refusal>(
      Refusal{std::move(socket),
              http::response<http::string_body>(static_cast<http::status>(status), version)});
  r->response.set(http::field::server, "nautilus");
  r->response.set(http::field::content_type, "application/json");
  if (status == 401) r->response.set(http::field::www_authenticate, "Bearer");
  r->response.body() = Response::error(status, why).body;
  r->response.keep_alive(false);
  r->response.prepare_payload();
  http::async_write(r->socket, r->response, [r](beast::error_code, std::size_t) {
    beast::error_code ignored;
    auto& lowest = beast::get_lowest_layer(r->socket);
    (void)lowest.shutdown(tcp::socket::shutdown_send, ignored);
    (void)lowest.close(ignored);
  });
}

std::string choose_subprotocol(std::string_view offered, const std::vector<std::string>& ours) {
  while (!offered.empty()) {
    const std::size_t comma = std::min(offered.find(','), offered.size());
    std::string_view one = offered.substr(0, comma);
    offered.remove_prefix(std::min(comma + 1, offered.size()));
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    for (const auto& p : ours) {
      if (p == one) return p;
    }
  }
  return {};
}

}  // namespace

// A connection over `Next`: a TCP socket, or a TLS stream over one (an engine serving HTTPS).
template <class Next>
class WsSession final : public WsSessionBase, public std::enable_shared_from_this<WsSession<Next>> {
 public:
  WsSession(Next&& socket, std::shared_ptr<WebSocketService::Impl> service, WsPeer peer,
            std::uint64_t id)
      : ws_(std::move(socket)),
        kill_timer_(ws_.get_executor()),
        service_(std::move(service)),
        peer_(std::move(peer)),
        id_(id) {}
  ~WsSession() override { service_->release(peer_.address, id_); }
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  [[nodiscard]] std::uint64_t id() const noexcept override { return id_; }
  [[nodiscard]] const WsPeer& peer() const noexcept override { return peer_; }

  void accept(http::request<http::string_body> req) {
    const auto& o = service_->options;
    ws_.set_option(websocket::stream_base::timeout{
        .handshake_timeout = o.handshake_timeout,
        .idle_timeout = o.idle_timeout,
        .keep_alive_pings = true,  // a ping at half the idle timeout; silence for all of it closes
    });
    ws_.read_message_max(o.max_message_bytes);
    ws_.auto_fragment(false);
    ws_.set_option(
        websocket::stream_base::decorator([sub = peer_.subprotocol](websocket::response_type& res) {
          res.set(http::field::server, "nautilus");
          if (!sub.empty()) res.set(http::field::sec_websocket_protocol, sub);
        }));
    // The request must stay alive until the handshake is answered.
    auto owned = std::make_shared<http::request<http::string_body>>(std::move(req));
    ws_.async_accept(
        *owned, [self = shared_from_this(), owned](beast::error_code ec) { self->on_accept(ec); });
  }

  bool send(std::uint64_t key, std::shared_ptr<const std::string> frame, bool binary) override {
    if (!frame) return false;
    const auto& o = service_->options;
    const auto now = Steady::now();
    std::unique_lock lock(mu_);
    if (closing_) return false;
    if (!queue_.empty() && now - queue_.front().at > o.max_behind) {
      bump(service_->counters.disconnected_slow);
      start_close(
          lock, websocket::close_code::policy_error,
          fmt::format("too far behind: a frame waited over {} ms to be sent", o.max_behind.count()),
          /*drop_queue=*/true);
      return false;
    }
    // Beyond the conflation depth, the latest value replaces a queued one of the same key. The
    // front frame may be on the wire already and is never touched.
    if (key != 0 && queue_.size() >= o.conflate_after) {
      if (auto it = by_key_.find(key); it != by_key_.end() && it->second > front_seq_) {
        Frame& f = queue_[it->second - front_seq_];
        if (bytes_ - f.data->size() + frame->size() <= o.queue_bytes) {
          bytes_ = bytes_ - f.data->size() + frame->size();
          f.data = std::move(frame);
          f.binary = binary;
          ++conflated_;
          bump(service_->counters.conflated);
          return true;
        }
      }
    }
    if (queue_.size() >= o.queue_frames || bytes_ + frame->size() > o.queue_bytes) {
      bump(service_->counters.disconnected_slow);
      start_close(lock, websocket::close_code::policy_error,
                  fmt::format("too far behind: send queue full ({} frames, {} bytes)",
                              queue_.size(), bytes_),
                  /*drop_queue=*/true);
      return false;
    }
    bytes_ += frame->size();
    if (key != 0) by_key_[key] = next_seq_;
    queue_.push_back({.key = key, .data = std::move(frame), .binary = binary, .at = now});
    ++next_seq_;
    if (!writing_) {
      writing_ = true;
      lock.unlock();
      asio::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
    }
    return true;
  }

  void close(std::string_view reason) override {
    std::unique_lock lock(mu_);
    if (closing_) return;
    start_close(lock, websocket::close_code::normal, std::string(reason), /*drop_queue=*/false);
  }
  // The service is going away: 1001, at once.
  void going_away(std::string_view reason) override {
    std::unique_lock lock(mu_);
    if (closing_) return;
    start_close(lock, websocket::close_code::going_away, std::string(reason), /*drop_queue=*/true);
  }

  [[nodiscard]] WsQueueStats queue() const override {
    std::lock_guard lock(mu_);
    return {.frames = queue_.size(), .bytes = bytes_, .sent = sent_, .conflated = conflated_};
  }

 private:
  struct Frame {
    std::uint64_t key = 0;
    std::shared_ptr<const std::string> data;
    bool binary = false;
    Steady::time_point at;
  };

  void on_accept(beast::error_code ec) {
    if (ec) {
      bump(service_->counters.handshake_failed);
      return;  // the last reference goes with this handler: the slot is released
    }
    bump(service_->counters.accepted);
    bump(service_->counters.open);
    opened_ = true;
    {
      std::lock_guard lock(service_->mu);
      service_->sessions[id_] = weak_from_this();
    }
    if (!callback([&](WebSocketHandler& h) { h.on_open(shared_from_this()); })) {
      going_away("server shutting down");
    }
    read();
  }

  // Runs `fn` on the handler unless the service was detached; false when it was.
  template <class F>
  bool callback(F&& fn) {
    std::shared_lock lock(service_->handler_mu);
    if (service_->handler == nullptr) return false;
    fn(*service_->handler);
    return true;
  }

  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->finish(ec);
        return;
      }
      bump(self->service_->counters.messages_in);
      const auto data = self->in_.cdata();
      const std::string_view text(static_cast<const char*>(data.data()), data.size());
      const bool binary = !self->ws_.got_text();
      self->callback([&](WebSocketHandler& h) { h.on_message(self, text, binary); });
      self->in_.consume(self->in_.size());
      self->read();
    });
  }

  void write_next() {
    std::unique_lock lock(mu_);
    if (queue_.empty()) {
      if (closing_ && !close_sent_) {
        close_sent_ = true;
        lock.unlock();
        send_close();
        return;
      }
      writing_ = false;
      return;
    }
    const Frame& f = queue_.front();
    std::shared_ptr<const std::string> data = f.data;
    const bool binary = f.binary;
    lock.unlock();
    ws_.binary(binary);
    ws_.async_write(asio::buffer(*data),
                    [self = shared_from_this(), data](beast::error_code ec, std::size_t n) {
                      if (ec) {
                        self->finish(ec);
                        return;
                      }
                      bump(self->service_->counters.frames_out);
                      bump(self->service_->counters.bytes_out, n);
                      {
                        std::lock_guard lock(self->mu_);
                        if (!self->queue_.empty()) {
                          const Frame& done = self->queue_.front();
                          if (done.key != 0) {
                            if (auto it = self->by_key_.find(done.key);
                                it != self->by_key_.end() && it->second == self->front_seq_) {
                              self->by_key_.erase(it);
                            }
                          }
                          self->bytes_ -= done.data->size();
                          self->queue_.pop_front();
                          ++self->front_seq_;
                          ++self->sent_;
                        }
                      }
                      self->write_next();
                    });
  }

  // Under mu_. New sends are refused from here; the close frame follows the queue (or only the
  // frame on the wire, when the queue is dropped), and the socket is shut after kCloseGrace
  // whatever the client does.
  void start_close(std::unique_lock<std::mutex>& lock, websocket::close_code code,
                   std::string reason, bool drop_queue) {
    closing_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    if (drop_queue && !queue_.empty()) {
      const std::size_t keep = writing_ ? 1 : 0;  // the front may be on the wire
      for (std::size_t i = keep; i < queue_.size(); ++i) bytes_ -= queue_[i].data->size();
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(keep), queue_.end());
      by_key_.clear();
      next_seq_ = front_seq_ + queue_.size();
    }
    const bool start_writer = !writing_;
    writing_ = true;
    lock.unlock();
    asio::post(ws_.get_executor(), [self = shared_from_this(), start_writer] {
      if (self->finished_) return;  // over already: no timer to hold the session
      self->kill_timer_.expires_after(kCloseGrace);
      self->kill_timer_.async_wait([self](beast::error_code ec) {
        if (ec) return;  // cancelled: it finished in time
        beast::error_code ignored;
        (void)beast::get_lowest_layer(self->ws_).close(ignored);
      });
      if (start_writer) self->write_next();
    });
  }

  void send_close() {
    ws_.async_close(websocket::close_reason(close_code_, close_text(close_reason_)),
                    [self = shared_from_this()](beast::error_code ec) {
                      if (ec) self->finish(ec);
                      // else the pending read ends with `closed` when the client answers.
                    });
  }

  // The connection is over: why, once, to the handler.
  void finish(beast::error_code ec) {
    if (finished_) return;
    finished_ = true;
    std::string why;
    {
      std::lock_guard lock(mu_);
      closing_ = true;
      why = close_reason_;
      queue_.clear();
      by_key_.clear();
      bytes_ = 0;
    }
    if (why.empty()) {
      if (ec == websocket::error::closed) {
        const auto& r = ws_.reason();
        why = fmt::format("client closed ({}{}{})", static_cast<int>(r.code),
                          r.reason.empty() ? "" : ": ",
                          std::string_view(r.reason.data(), r.reason.size()));
      } else if (ec == websocket::error::message_too_big) {
        bump(service_->counters.oversize);
        why = fmt::format("message too big: over {} bytes", service_->options.max_message_bytes);
      } else if (ec == beast::error::timeout) {
        bump(service_->counters.timeouts);
        why = "heartbeat timeout: nothing from the client";
      } else {
        why = fmt::format("connection lost: {}", ec.message());
      }
    }
    kill_timer_.cancel();
    beast::error_code ignored;
    (void)beast::get_lowest_layer(ws_).close(ignored);
    if (opened_) {
      service_->counters.open.fetch_sub(1, std::memory_order_relaxed);
      callback([&](WebSocketHandler& h) { h.on_close(*this, why); });
    }
  }

  using std::enable_shared_from_this<WsSession<Next>>::shared_from_this;
  using std::enable_shared_from_this<WsSession<Next>>::weak_from_this;

  websocket::stream<Next> ws_;
  asio::steady_timer kill_timer_;
  std::shared_ptr<WebSocketService::Impl> service_;
  WsPeer peer_;
  std::uint64_t id_;
  beast::flat_buffer in_;
  bool opened_ = false;    // the connection's thread only
  bool finished_ = false;  // the connection's thread only
  bool close_sent_ = false;

  mutable std::mutex mu_;  // what follows
  std::deque<Frame> queue_;
  // Conflation: the sequence number of the queued frame of each key. Frame i of the queue has
  // sequence front_seq_ + i.
  std::unordered_map<std::uint64_t, std::uint64_t> by_key_;
  std::uint64_t front_seq_ = 0;
  std::uint64_t next_seq_ = 0;
  std::size_t bytes_ = 0;
  bool writing_ = false;  // a write_next() chain is running or posted
  bool closing_ = false;
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::string close_reason_;
  std::uint64_t sent_ = 0;
  std::uint64_t conflated_ = 0;
};

namespace detail {

template <class Next>
void accept_over(WebSocketService& service, Next socket, http::request<http::string_body> request) {
  const auto& shared = service.shared_impl();
  auto& impl = *shared;
  const auto& o = impl.options;
  const unsigned version = request.version();
  beast::error_code ec;
  const auto remote = beast::get_lowest_layer(socket).remote_endpoint(ec);
  if (ec) return;  // gone already
  WsPeer peer;
  peer.address = remote.address().to_string();
  const std::string_view target(request.target().data(), request.target().size());
  const std::size_t qm = target.find('?');
  peer.path = std::string(target.substr(0, qm));
  if (qm != std::string_view::npos) peer.query = std::string(target.substr(qm + 1));

  if (!o.token.empty()) {
    const auto auth = request[http::field::authorization];
    Request q;
    q.query = peer.query;
    const auto from_query = q.query_param("token");
    const bool ok = bearer_matches(std::string_view(auth.data(), auth.size()), o.token) ||
                    (from_query && bearer_matches("Bearer " + *from_query, o.token));
    if (!ok) {
      bump(impl.counters.refused_unauthorized);
      refuse(std::move(socket), 401,
             "a token is required: Authorization: Bearer <token> or ?token=<token>", version);
      return;
    }
  }
  if (const int status = impl.reserve(peer.address); status != 0) {
    refuse(std::move(socket), status,
           status == 429 ? fmt::format("too many connections from {} (at most {})", peer.address,
                                       o.max_per_ip)
                         : fmt::format("the server is full ({} connections) or shutting down",
                                       o.max_connections),
           version);
    return;
  }
  const auto offered = request[http::field::sec_websocket_protocol];
  peer.subprotocol =
      choose_subprotocol(std::string_view(offered.data(), offered.size()), o.subprotocols);
  if (o.send_buffer_bytes > 0) {
    (void)beast::get_lowest_layer(socket).set_option(
        asio::socket_base::send_buffer_size(static_cast<int>(o.send_buffer_bytes)), ec);
  }
  const std::uint64_t id = impl.next_id.fetch_add(1);
  // A shared_ptr to the Impl keeps the counters and maps alive for the session's lifetime.
  std::make_shared<WsSession<Next>>(std::move(socket), shared, std::move(peer), id)
      ->accept(std::move(request));
}

void accept_websocket(WebSocketService& service, tcp::socket socket,
                      http::request<http::string_body> request) {
  accept_over(service, std::move(socket), std::move(request));
}

void accept_websocket(WebSocketService& service, asio::ssl::stream<tcp::socket> stream,
                      http::request<http::string_body> request) {
  accept_over(service, std::move(stream), std::move(request));
}

}  // namespace detail

std::shared_ptr<WebSocketService> WebSocketService::create(WebSocketServiceOptions options,
                                                           WebSocketHandler* handler) {
  auto impl = std::make_shared<Impl>();
  impl->options = std::move(options);
  impl->handler = handler;
  return std::shared_ptr<WebSocketService>(new WebSocketService(std::move(impl)));
}

WebSocketService::WebSocketService(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocketService::~WebSocketService() { detach(); }

const WebSocketServiceOptions& WebSocketService::options() const noexcept { return impl_->options; }

void WebSocketService::detach(std::string_view reason) {
  impl_->detached.store(true);
  {
    std::unique_lock lock(impl_->handler_mu);
    impl_->handler = nullptr;
  }
  std::vector<std::shared_ptr<WsSessionBase>> open;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [id, w] : impl_->sessions) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->going_away(reason);
}

WsMetrics WebSocketService::metrics() const noexcept {
  const auto& c = impl_->counters;
  const auto ld = [](const std::atomic<std::uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  return {.accepted = ld(c.accepted),
          .open = ld(c.open),
          .refused_unauthorized = ld(c.refused_unauthorized),
          .refused_per_ip = ld(c.refused_per_ip),
          .refused_capacity = ld(c.refused_capacity),
          .handshake_failed = ld(c.handshake_failed),
          .messages_in = ld(c.messages_in),
          .oversize = ld(c.oversize),
          .frames_out = ld(c.frames_out),
          .bytes_out = ld(c.bytes_out),
          .conflated = ld(c.conflated),
          .disconnected_slow = ld(c.disconnected_slow),
          .timeouts = ld(c.timeouts)};
}

}  // namespace nautilus::net
