// The websocket engine's glue: the bus on one side, WebSocket clients on the other (net's
// WebSocketService on the engine's own HTTP port, path /ws). Each message of the forwarded
// patterns is kept as its topic's latest value (the snapshot a new subscription starts with)
// and sent to the clients whose patterns match its topic: encoded once per format (the JSON
// line or the MessagePack of docs/WIRE_FORMAT.md) and queued on each client's bounded send
// queue, so a slow client costs this thread one queue push and never a wait.
//
// Threads: bus messages arrive on the engine's thread, control messages on the HTTP server's;
// `mu_` guards the clients, their subscriptions and the snapshot.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "control.hpp"
#include "dashboard_assets.hpp"
#include "nautilus/bus/codec.hpp"
#include "nautilus/core/rate_limiter.hpp"
#include "nautilus/engines/websocket/engine.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "nautilus/net/websocket_server.hpp"
#include "subscription_index.hpp"

namespace nautilus::websocket {
namespace {

namespace json = boost::json;

constexpr std::string_view kJsonProtocol = "nautilus.json";
constexpr std::string_view kMsgpackProtocol = "nautilus.msgpack";
constexpr std::string_view kBroadcast = "websocket.broadcast.*";

std::optional<std::string> check_pattern(std::string_view v) {
  auto p = bus::normalize_pattern(v);
  if (!p) return p.error().message;
  return std::nullopt;
}

// A topic's conflation key: interned topics have one address each, for the process's life.
std::uint64_t key_of(bus::Topic t) noexcept {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(t.value().data()));
}

std::shared_ptr<const std::string> control_frame(json::object o) {
  return std::make_shared<const std::string>(json::serialize(o));
}

class WebSocketEngine final : public engine::Engine, public net::WebSocketHandler {
 public:
  ~WebSocketEngine() override { stop(); }

  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    const auto count = [&](std::string_view k) { return static_cast<std::size_t>(cfg.integer(k)); };
    net::WebSocketServiceOptions o{
        .max_connections = count("max_clients"),
        .max_per_ip = count("max_clients_per_ip"),
        .max_message_bytes = count("max_control_bytes"),
        .queue_frames = count("queue_frames"),
        .queue_bytes = count("queue_bytes"),
        .conflate_after = count("conflate_after"),
        .max_behind = std::chrono::milliseconds(cfg.integer("max_behind_ms")),
        .handshake_timeout = std::chrono::milliseconds(5'000),
        .idle_timeout = std::chrono::milliseconds(cfg.integer("heartbeat_ms")),
        .send_buffer_bytes = count("socket_send_buffer"),
        .token = std::string(cfg.text("token")),
        .subprotocols = {std::string(kJsonProtocol), std::string(kMsgpackProtocol)}};
    if (o.conflate_after >= o.queue_frames) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("websocket.conflate_after ({}) must be below "
                                    "websocket.queue_frames ({})",
                                    o.conflate_after, o.queue_frames));
    }
    ctx_ = &ctx;
    max_patterns_ = count("max_patterns");
    control_per_s_ = cfg.number("control_per_s");
    snapshot_cap_ = std::max<std::size_t>(1, count("queue_frames") / 2);
    snapshot_limit_ = count("snapshot_topics");
    service_ = net::WebSocketService::create(std::move(o), this);
    for (const auto& pattern : cfg.list("forward")) {
      auto sub = ctx.subscribe(
          pattern, [this](const bus::Envelope& e) { on_bus(e); }, bus::OverflowPolicy::kConflate);
      if (!sub) return std::unexpected(sub.error());
    }
    return {};
  }

  // Before the host stops the HTTP servers: the clients still get their close frame (1001).
  void drain() override {
    if (service_) service_->detach("server shutting down");
  }

  void stop() override {
    if (service_) service_->detach("server shutting down");
    std::lock_guard lock(mu_);
    clients_.clear();  // the connections belong to the HTTP server's threads
  }

  void add_routes(net::Router& r) override {
    r.websocket("/ws", service_);
    const auto asset = [&r](std::string path, std::string_view body, std::string type) {
      r.get(std::move(path), [body, type = std::move(type)](const net::Request&) {
        net::Response res = net::Response::text(std::string(body));
        res.content_type = type;
        res.headers.emplace_back("Cache-Control", "no-cache");
        return res;
      });
    };
    asset("/", assets::dashboard_html, "text/html; charset=utf-8");
    asset("/dashboard/app.js", assets::dashboard_js, "text/javascript; charset=utf-8");
    asset("/dashboard/app.css", assets::dashboard_css, "text/css; charset=utf-8");
    asset("/dashboard/uplot.js", assets::uplot_js, "text/javascript; charset=utf-8");
    asset("/dashboard/uplot.css", assets::uplot_css, "text/css; charset=utf-8");
    r.get("/websocket/clients", [this](const net::Request&) {
      json::array out;
      std::lock_guard lock(mu_);
      for (const auto& [id, c] : clients_) {
        const auto q = c.conn->queue();
        json::array patterns;
        for (const auto& p : index_.patterns_of(id)) patterns.emplace_back(p);
        out.push_back(json::object{{"id", id},
                                   {"address", c.conn->peer().address},
                                   {"format", c.msgpack ? "msgpack" : "json"},
                                   {"patterns", std::move(patterns)},
                                   {"queued_frames", q.frames},
                                   {"queued_bytes", q.bytes},
                                   {"sent", q.sent},
                                   {"conflated", q.conflated}});
      }
      return net::Response::json(json::object{{"clients", std::move(out)}});
    });
  }

  void add_health_fields(json::object& out) const override {
    std::lock_guard lock(mu_);
    out["clients"] = clients_.size();
    out["snapshot_topics"] = latest_.size();
  }

  void add_metrics(net::PrometheusText& p) const override {
    const net::PrometheusText::Labels l = {{"engine", "websocket"}};
    const auto m = service_ ? service_->metrics() : net::WsMetrics{};
    const auto counter = [&](const char* name, const char* help, std::uint64_t v) {
      p.family(name, "counter", help);
      p.sample(name, l, static_cast<double>(v));
    };
    p.family("nautilus_websocket_clients", "gauge", "open WebSocket connections");
    p.sample("nautilus_websocket_clients", l, static_cast<double>(m.open));
    counter("nautilus_websocket_connections_total", "handshakes completed", m.accepted);
    p.family("nautilus_websocket_refused_total", "counter", "upgrades refused, by reason");
    p.sample("nautilus_websocket_refused_total",
             {{"engine", "websocket"}, {"reason", "unauthorized"}},
             static_cast<double>(m.refused_unauthorized));
    p.sample("nautilus_websocket_refused_total", {{"engine", "websocket"}, {"reason", "per_ip"}},
             static_cast<double>(m.refused_per_ip));
    p.sample("nautilus_websocket_refused_total", {{"engine", "websocket"}, {"reason", "capacity"}},
             static_cast<double>(m.refused_capacity));
    p.sample("nautilus_websocket_refused_total", {{"engine", "websocket"}, {"reason", "handshake"}},
             static_cast<double>(m.handshake_failed));
    counter("nautilus_websocket_messages_in_total", "frames received from clients", m.messages_in);
    counter("nautilus_websocket_oversize_total", "client frames over max_control_bytes (closed)",
            m.oversize);
    counter("nautilus_websocket_frames_out_total", "frames written to clients", m.frames_out);
    counter("nautilus_websocket_bytes_out_total", "bytes written to clients", m.bytes_out);
    counter("nautilus_websocket_conflated_total",
            "queued frames replaced by a newer one of the same topic", m.conflated);
    counter("nautilus_websocket_disconnected_slow_total",
            "clients disconnected for falling too far behind", m.disconnected_slow);
    counter("nautilus_websocket_heartbeat_timeouts_total", "clients that stopped answering",
            m.timeouts);
    p.family("nautilus_websocket_control_errors_total", "counter",
             "control messages refused, by kind");
    std::lock_guard lock(mu_);
    for (const auto& [kind, n] : control_errors_) {
      p.sample("nautilus_websocket_control_errors_total", {{"engine", "websocket"}, {"kind", kind}},
               static_cast<double>(n));
    }
    counter("nautilus_websocket_encode_errors_total", "bus messages that could not be encoded",
            encode_errors_);
    p.family("nautilus_websocket_snapshot_topics", "gauge", "topics with a latest value kept");
    p.sample("nautilus_websocket_snapshot_topics", l, static_cast<double>(latest_.size()));
  }

  // --- net::WebSocketHandler (the HTTP server's threads) ---

  void on_open(const std::shared_ptr<net::WsConnection>& c) override {
    const auto& peer = c->peer();
    bool msgpack = peer.subprotocol == kMsgpackProtocol;
    net::Request q;
    q.query = peer.query;
    if (auto f = q.query_param("format")) msgpack = *f == "msgpack";
    std::lock_guard lock(mu_);
    auto& client = clients_[c->id()];
    client.conn = c;
    client.msgpack = msgpack;
    client.limiter.emplace(ctx_->clock(), control_per_s_ * 60, std::max(1.0, control_per_s_));
    index_.add(c->id(), std::string(kBroadcast));
    // Under the lock, so that no message of the bus can be queued before it.
    (void)c->send(0,
                  control_frame({{"control", "hello"},
                                 {"id", c->id()},
                                 {"format", msgpack ? "msgpack" : "json"},
                                 {"max_patterns", max_patterns_}}),
                  false);
  }

  void on_message(const std::shared_ptr<net::WsConnection>& c, std::string_view data,
                  bool /*binary*/) override {
    std::lock_guard lock(mu_);
    auto it = clients_.find(c->id());
    if (it == clients_.end()) return;  // closing
    Client& client = it->second;
    // A client sending control messages faster than control_per_s is refused: each subscribe
    // scans the snapshot and resets the topic cache, which costs the bus thread.
    if (client.limiter && !client.limiter->try_acquire()) {
      refuse_locked(*c, "rate_limited",
                    fmt::format("over {} control messages a second", control_per_s_), "");
      return;
    }
    auto m = parse_control(data, max_patterns_);
    if (!m) {
      refuse_locked(*c, m.error().kind, m.error().message, "");
      return;
    }
    const std::uint64_t id = c->id();
    json::object reply{{"control", to_string(m->op)}};
    if (!m->id.empty()) reply["id"] = m->id;
    json::array changed;
    std::vector<const bus::Envelope*> snapshot;
    std::size_t left_out = 0;
    switch (m->op) {
      case ControlMessage::Op::kSubscribe: {
        // The broadcast pattern every client has is not counted against max_patterns.
        std::size_t fresh = 0;
        for (const auto& p : m->patterns) fresh += index_.has(id, p) ? 0 : 1;
        if (index_.pattern_count(id) - 1 + fresh > max_patterns_) {
          refuse_locked(*c, "too_many",
                        fmt::format("{} patterns would be over the {} a client may have",
                                    index_.pattern_count(id) - 1 + fresh, max_patterns_),
                        m->id);
          return;
        }
        std::vector<std::string> added;
        for (const auto& p : m->patterns) {
          if (index_.add(id, p)) added.push_back(p);
          changed.emplace_back(p);
        }
        // The latest value of each topic the new patterns match, oldest first, at most half a
        // send queue (a larger snapshot would fill the queue before the client could read).
        for (const auto& [topic, env] : latest_) {
          for (const auto& p : added) {
            if (bus::is_matching(topic.value(), p)) {
              snapshot.push_back(&env);
              break;
            }
          }
        }
        std::sort(snapshot.begin(), snapshot.end(),
                  [](const bus::Envelope* a, const bus::Envelope* b) {
                    return a->ts_publish < b->ts_publish;
                  });
        if (snapshot.size() > snapshot_cap_) {
          left_out = snapshot.size() - snapshot_cap_;
          snapshot.erase(snapshot.begin(),
                         snapshot.begin() + static_cast<std::ptrdiff_t>(left_out));
        }
        reply["patterns"] = std::move(changed);
        reply["snapshot"] = snapshot.size();
        if (left_out > 0) reply["snapshot_left_out"] = left_out;
        break;
      }
      case ControlMessage::Op::kUnsubscribe:
        for (const auto& p : m->patterns) {
          if (p != kBroadcast && index_.remove(id, p)) changed.emplace_back(p);
        }
        reply["patterns"] = std::move(changed);
        break;
      case ControlMessage::Op::kList: {
        json::array all;
        for (const auto& p : index_.patterns_of(id)) all.emplace_back(p);
        reply["patterns"] = std::move(all);
        break;
      }
      case ControlMessage::Op::kPing:
        reply["ts"] = static_cast<std::int64_t>(ctx_->clock().now());
        break;
    }
    // All under the lock: a bus message of the same topic cannot slip in between, so the
    // snapshot never overtakes a newer value.
    (void)c->send(0, control_frame(std::move(reply)), false);
    for (const bus::Envelope* env : snapshot) {
      if (auto f = encode_locked(*env, client.msgpack)) {
        (void)c->send(key_of(env->topic), std::move(f), client.msgpack);
      }
    }
  }

  void on_close(const net::WsConnection& c, std::string_view /*reason*/) override {
    std::lock_guard lock(mu_);
    clients_.erase(c.id());
    index_.remove_client(c.id());
  }

 private:
  struct Client {
    std::shared_ptr<net::WsConnection> conn;
    bool msgpack = false;
    std::optional<core::RateLimiter> limiter;  // control messages
  };

  // The engine's thread: remember, then fan out.
  void on_bus(const bus::Envelope& e) {
    std::lock_guard lock(mu_);
    if (auto it = latest_.find(e.topic); it != latest_.end()) {
      it->second = e;
    } else if (latest_.size() < snapshot_limit_) {
      latest_.emplace(e.topic, e);
    }
    const auto& targets = index_.clients_for(e.topic);
    if (targets.empty()) return;
    std::shared_ptr<const std::string> as_json, as_msgpack;
    const std::uint64_t key = key_of(e.topic);
    for (const std::uint64_t id : targets) {
      auto it = clients_.find(id);
      if (it == clients_.end()) continue;
      auto& frame = it->second.msgpack ? as_msgpack : as_json;
      if (!frame) frame = encode_locked(e, it->second.msgpack);
      if (!frame) continue;  // counted; clients of the other format may still have it
      (void)it->second.conn->send(key, frame, it->second.msgpack);
    }
  }

  std::shared_ptr<const std::string> encode_locked(const bus::Envelope& e, bool msgpack) {
    auto f = encode_frame(e, msgpack);
    if (!f) ++encode_errors_;
    return f;
  }
  static std::shared_ptr<const std::string> encode_frame(const bus::Envelope& e, bool msgpack) {
    if (msgpack) {
      std::string out;
      if (!bus::codec::encode(e, out)) return nullptr;
      return std::make_shared<const std::string>(std::move(out));
    }
    auto text = bus::codec::to_json(e);
    if (!text) return nullptr;
    return std::make_shared<const std::string>(std::move(*text));
  }

  // Under mu_.
  void refuse_locked(net::WsConnection& c, const std::string& kind, const std::string& message,
                     const std::string& id) {
    ++control_errors_[kind];
    json::object o{{"control", "error"}, {"kind", kind}, {"reason", message}};
    if (!id.empty()) o["id"] = id;
    (void)c.send(0, control_frame(std::move(o)), false);
  }

  const engine::EngineInfo& info_ = engine_info();
  engine::EngineContext* ctx_ = nullptr;
  std::shared_ptr<net::WebSocketService> service_;
  std::size_t max_patterns_ = 256;
  std::size_t snapshot_limit_ = 100'000;
  std::size_t snapshot_cap_ = 512;
  double control_per_s_ = 20;

  mutable std::mutex mu_;  // what follows
  std::unordered_map<std::uint64_t, Client> clients_;
  SubscriptionIndex index_;
  std::unordered_map<bus::Topic, bus::Envelope> latest_;
  std::map<std::string, std::uint64_t> control_errors_;
  std::uint64_t encode_errors_ = 0;
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "websocket",
      .default_port = 8600,
      .subscribes = {"* (the forward setting), filtered per client"},
      .publishes = {"websocket.broadcast.* and system.health.* to every client"},
      .description =
          "Streams the bus to WebSocket clients (JSON or MessagePack, per-client "
          "patterns, snapshots, bounded conflating send queues) and serves the live "
          "dashboard",
      .settings = {
          Setting::text("token", "",
                        "Clients must present it (Authorization: Bearer, or ?token=); empty: "
                        "no token"),
          Setting::list("forward", {"*"}, "Bus patterns the engine subscribes to for its clients",
                        &check_pattern),
          Setting::integer("max_clients", 20'000, 1, 1'000'000, "Open connections, at most"),
          Setting::integer("max_clients_per_ip", 1'000, 1, 1'000'000,
                           "Open connections from one address, at most"),
          Setting::integer("max_control_bytes", 65'536, 256, 1 << 24,
                           "A client's frame larger than this closes it (1009)"),
          Setting::integer("max_patterns", 256, 1, 100'000, "Patterns per client, at most"),
          Setting::number("control_per_s", 20, 0.1, 100'000,
                          "Control messages a client may send per second (bursts of as many)"),
          Setting::integer("queue_frames", 1'024, 2, 1'000'000,
                           "Frames queued per client before it is disconnected"),
          Setting::integer("queue_bytes", 8 << 20, 1024, std::int64_t{1} << 32,
                           "Bytes queued per client before it is disconnected"),
          Setting::integer("conflate_after", 64, 0, 1'000'000,
                           "Queue depth from which a topic's queued frame is replaced by the "
                           "newer one"),
          Setting::integer("max_behind_ms", 5'000, 10, 3'600'000,
                           "A client whose oldest queued frame waited longer is disconnected"),
          Setting::integer("heartbeat_ms", 30'000, 200, 3'600'000,
                           "A ping after half of it without traffic; nothing back for all of it "
                           "closes the connection"),
          Setting::integer("socket_send_buffer", 0, 0, 1 << 26,
                           "Kernel send buffer per client in bytes (0: the system's)"),
          Setting::integer("snapshot_topics", 100'000, 0, 10'000'000,
                           "Topics whose latest value is kept for new subscriptions"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<WebSocketEngine>(); }

}  // namespace nautilus::websocket
