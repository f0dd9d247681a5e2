// LiveStream (streaming.hpp): one WebSocket connection on its own thread. The thread alone
// owns the socket, the decoders and the per-symbol state; callers reach it only through the
// queue of pending subscribe/unsubscribe messages and the counters, both under one mutex.
// Waits on the socket (connect, receive, stall, backoff) are real time: a simulated clock
// cannot make a server answer sooner. The injected clock stamps what status reports.
#include "nautilus/marketdata/streaming.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include "nautilus/net/websocket_client.hpp"

namespace nautilus::marketdata {
namespace {

using core::ErrorCode;
using core::fail;
using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The longest a receive waits before queued subscriptions and timers are looked at.
constexpr auto kPoll = 50ms;
constexpr auto kSendTimeout = 5s;
constexpr auto kCloseTimeout = 200ms;
constexpr std::size_t kBinanceParamsPerMessage = 200;
constexpr std::size_t kMaxBinanceSymbol = 20;
constexpr std::string_view kIbkrFields = R"({"fields":["31","84","86","85","88","7059"]})";

struct Sub {
  std::string symbol;  // as published (Binance: upper case)
  core::Symbol id;
  std::string stream;  // binance: "btcusdt@trade"; ibkr: the conidex
  std::uint64_t conid = 0;
};

struct Control {
  bool subscribe = true;
  Sub sub;
};

// The numbers of LiveStreamStatus: written by the stream's thread, copied under the lock.
struct Counters {
  std::uint64_t connects = 0, reconnects = 0, connect_failures = 0, drops = 0, stalls = 0;
  std::uint64_t frames = 0, trades = 0, quotes = 0, control_frames = 0, heartbeats = 0;
  std::uint64_t ignored = 0, duplicates = 0, gaps = 0, missing_trades = 0;
  std::int64_t downtime_ns = 0;
  std::uint64_t decode_errors = 0, server_errors = 0, sink_errors = 0, control_sent = 0;
  std::chrono::milliseconds last_backoff{0};
  core::UnixNanos last_frame_at = 0;
};

bool alnum(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string binance_request(std::string_view method, const std::vector<std::string>& streams,
                            std::uint64_t id) {
  std::string params;
  for (const auto& s : streams) {
    if (!params.empty()) params += ',';
    params += fmt::format("\"{}\"", s);
  }
  return fmt::format(R"({{"method":"{}","params":[{}],"id":{}}})", method, params, id);
}

}  // namespace

struct LiveStream::Impl {
  Impl(LiveStreamOptions options, const core::Clock& c, StreamSink s)
      : o(std::move(options)), clock(c), sink(std::move(s)), rng(o.seed) {}

  LiveStreamOptions o;
  const core::Clock& clock;
  StreamSink sink;
  bool binance = false;
  std::chrono::milliseconds control_interval{0};

  std::atomic<bool> stop{false};
  mutable std::mutex mu;
  std::condition_variable cv;
  // Under mu:
  std::vector<Sub> subs;
  std::deque<Control> pending;
  Counters shared;
  std::string last_error;
  bool connected = false;
  core::UnixNanos connected_since = 0;
  std::thread thread;

  // The stream's thread only:
  Counters c;
  std::mt19937_64 rng;
  std::chrono::milliseconds delay{0};
  std::uint64_t next_id = 1;
  struct Last {
    std::uint64_t id = 0;
    core::UnixNanos ts = 0;
  };
  std::unordered_set<core::Symbol> active;                  // binance: symbols subscribed
  std::unordered_map<core::Symbol, Last> last_trade;        // binance: per symbol
  std::unordered_map<std::uint64_t, core::Symbol> watched;  // ibkr: conid -> symbol
  IbkrDecoder ibkr;
  std::deque<std::string> outbox;  // control messages not yet sent (paced)
  Steady::time_point next_control{};
  std::vector<model::TradeTick> trades;
  std::vector<Record> records;
  std::string frame;
  bool had_frame = false;

  core::Result<Sub> make_sub(std::string_view symbol, bool resolve) const {
    Sub s;
    if (binance) {
      if (symbol.empty() || symbol.size() > kMaxBinanceSymbol || !alnum(symbol)) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("binance symbol '{}' must be 1 to {} letters and digits", symbol,
                                kMaxBinanceSymbol));
      }
      s.symbol = upper(symbol);
      s.stream = lower(symbol) + "@trade";
    } else {
      s.symbol = std::string(symbol);
      if (resolve) {
        auto conid = o.resolve_conid(symbol);
        if (!conid) {
          return fail(conid.error().code,
                      fmt::format("ibkr symbol '{}': {}", symbol, conid.error().message));
        }
        auto num = parse_conid(*conid);
        if (!num) {
          return fail(ErrorCode::kInvalidArgument,
                      fmt::format("ibkr symbol '{}': {}", symbol, num.error().message));
        }
        s.stream = *conid;
        s.conid = *num;
      }
    }
    auto id = core::Symbol::create(s.symbol);
    if (!id) return fail(ErrorCode::kInvalidArgument, id.error().message);
    s.id = *id;
    return s;
  }

  core::Result<void> add(std::string_view symbol) {
    auto sub = make_sub(symbol, true);
    if (!sub) return std::unexpected(sub.error());
    std::lock_guard lock(mu);
    for (const auto& s : subs) {
      if (s.symbol == sub->symbol) {
        return fail(ErrorCode::kAlreadyExists, fmt::format("already subscribed to {}", s.symbol));
      }
      if (!binance && s.conid == sub->conid) {
        return fail(ErrorCode::kAlreadyExists,
                    fmt::format("ibkr conid {} of {} is already subscribed as {}", sub->conid,
                                sub->symbol, s.symbol));
      }
    }
    if (subs.size() >= o.max_symbols) {
      return fail(ErrorCode::kCapacity,
                  fmt::format("cannot subscribe to {}: {} symbols is the stream's max_symbols",
                              sub->symbol, o.max_symbols));
    }
    if (pending.size() >= o.max_pending_control) {
      return fail(ErrorCode::kCapacity,
                  fmt::format("cannot subscribe to {}: {} control messages wait to be sent",
                              sub->symbol, pending.size()));
    }
    pending.push_back({true, *sub});
    subs.push_back(std::move(*sub));
    return {};
  }

  core::Result<void> remove(std::string_view symbol) {
    auto key = make_sub(symbol, false);
    if (!key) return std::unexpected(key.error());
    std::lock_guard lock(mu);
    const auto it = std::find_if(subs.begin(), subs.end(),
                                 [&](const Sub& s) { return s.symbol == key->symbol; });
    if (it == subs.end()) {
      return fail(ErrorCode::kNotFound, fmt::format("not subscribed to {}", key->symbol));
    }
    if (pending.size() >= o.max_pending_control) {
      return fail(ErrorCode::kCapacity,
                  fmt::format("cannot unsubscribe from {}: {} control messages wait to be sent",
                              key->symbol, pending.size()));
    }
    pending.push_back({false, *it});
    subs.erase(it);
    return {};
  }

  void publish() {
    std::lock_guard lock(mu);
    shared = c;
  }
  void set_error(std::string message) {
    std::lock_guard lock(mu);
    last_error = std::move(message);
    shared = c;
  }

  void deliver(const Record& r) {
    try {
      sink(r);
    } catch (...) {  // the sink's failure must not end the stream
      ++c.sink_errors;
    }
  }
  void report(const StreamGap& g) {
    if (!o.on_gap) return;
    try {
      o.on_gap(g);
    } catch (...) {
      ++c.sink_errors;
    }
  }

  // ---- control messages ----

  void queue(bool subscribe, const std::vector<const Sub*>& batch) {
    if (binance) {
      std::vector<std::string> streams;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        streams.push_back(batch[i]->stream);
        if (streams.size() == kBinanceParamsPerMessage || i + 1 == batch.size()) {
          outbox.push_back(
              binance_request(subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", streams, next_id++));
          streams.clear();
        }
      }
      return;
    }
    for (const Sub* s : batch) {
      outbox.push_back(subscribe ? fmt::format("smd+{}+{}", s->stream, kIbkrFields)
                                 : fmt::format("umd+{}+{{}}", s->stream));
    }
  }

  // The thread's view follows a subscription as it is taken from the queue, so frames of a
  // symbol just unsubscribed are ignored at once.
  void follow(bool subscribe, const Sub& s) {
    if (binance) {
      if (subscribe) {
        active.insert(s.id);
      } else {
        active.erase(s.id);
        last_trade.erase(s.id);
      }
    } else if (subscribe) {
      watched[s.conid] = s.id;
      ibkr.watch(s.conid, s.id);
    } else {
      watched.erase(s.conid);
      ibkr.forget(s.conid);
    }
  }

  void take_pending() {
    std::deque<Control> got;
    {
      std::lock_guard lock(mu);
      got.swap(pending);
    }
    // Consecutive requests of one kind go out together (Binance takes many streams a message).
    std::vector<const Sub*> batch;
    for (std::size_t i = 0; i < got.size(); ++i) {
      follow(got[i].subscribe, got[i].sub);
      batch.push_back(&got[i].sub);
      if (i + 1 == got.size() || got[i + 1].subscribe != got[i].subscribe) {
        queue(got[i].subscribe, batch);
        batch.clear();
      }
    }
  }

  bool send(net::WebSocketClient& ws, std::string_view text) {
    if (auto r = ws.send(text, kSendTimeout); !r) {
      ++c.drops;
      set_error(r.error().message);
      return false;
    }
    return true;
  }

  bool flush_outbox(net::WebSocketClient& ws) {
    bool sent = false;
    while (!outbox.empty() && Steady::now() >= next_control) {
      if (!send(ws, outbox.front())) return false;
      outbox.pop_front();
      ++c.control_sent;
      sent = true;
      next_control = Steady::now() + control_interval;
    }
    if (sent) publish();
    return true;
  }

  // ---- frames ----

  void count(const FrameInfo& info) {
    switch (info.kind) {
      case FrameKind::kData:
        break;
      case FrameKind::kControl:
        ++c.control_frames;
        break;
      case FrameKind::kHeartbeat:
        ++c.heartbeats;
        break;
      case FrameKind::kIgnored:
        ++c.ignored;
        break;
      case FrameKind::kServerError:
        ++c.server_errors;
        set_error(info.message);
        break;
    }
  }

  void on_binance_trade(const model::TradeTick& t) {
    if (!active.contains(t.symbol)) {
      ++c.ignored;
      return;
    }
    auto [it, fresh] = last_trade.try_emplace(t.symbol, Last{t.trade_id, t.ts_event});
    if (!fresh) {
      Last& last = it->second;
      if (t.trade_id <= last.id) {  // a replay overlapping what was published
        ++c.duplicates;
        return;
      }
      if (t.trade_id > last.id + 1) {
        const StreamGap g{.symbol = t.symbol,
                          .first_missing = last.id + 1,
                          .last_missing = t.trade_id - 1,
                          .missing = t.trade_id - last.id - 1,
                          .from = last.ts,
                          .to = t.ts_event};
        ++c.gaps;
        c.missing_trades += g.missing;
        report(g);
      }
      last = Last{t.trade_id, t.ts_event};
    }
    ++c.trades;
    deliver(Record{t});
  }

  void handle(std::string_view text) {
    ++c.frames;
    c.last_frame_at = clock.now();
    if (binance) {
      trades.clear();
      auto r = decode_binance(text, trades);
      if (!r) {
        ++c.decode_errors;
        set_error(r.error().message);
        return;
      }
      count(*r);
      for (const auto& t : trades) on_binance_trade(t);
    } else {
      records.clear();
      auto r = ibkr.decode(text, records);
      if (!r) {
        ++c.decode_errors;
        set_error(r.error().message);
        return;
      }
      count(*r);
      c.duplicates += r->duplicates;
      for (const auto& rec : records) {
        if (std::holds_alternative<model::TradeTick>(rec)) {
          ++c.trades;
        } else {
          ++c.quotes;
        }
        deliver(rec);
      }
    }
    publish();
  }

  // ---- the connection ----

  void session(net::WebSocketClient& ws) {
    had_frame = false;
    std::vector<Sub> snapshot;
    {
      std::lock_guard lock(mu);
      snapshot = subs;
      pending.clear();  // the snapshot has them
    }
    outbox.clear();
    active.clear();
    std::unordered_set<std::uint64_t> keep;
    for (const auto& s : snapshot) {
      follow(true, s);
      keep.insert(s.conid);
    }
    if (binance) {
      std::erase_if(last_trade, [&](const auto& kv) { return !active.contains(kv.first); });
    } else {
      for (auto it = watched.begin(); it != watched.end();) {
        if (keep.contains(it->first)) {
          ++it;
        } else {
          ibkr.forget(it->first);
          it = watched.erase(it);
        }
      }
    }
    std::vector<const Sub*> all;
    for (const auto& s : snapshot) all.push_back(&s);
    if (!binance && !o.ibkr_session.empty()) {
      if (!send(ws, fmt::format(R"({{"session":"{}"}})", o.ibkr_session))) return;
    }
    if (!all.empty()) queue(true, all);

    auto now = Steady::now();
    next_control = now;
    auto last_activity = now;
    auto control_seen = ws.control_frames();
    auto next_tic = now + o.tic_interval;
    auto next_renew = now + o.resubscribe_every;
    while (!stop.load(std::memory_order_relaxed)) {
      take_pending();
      if (!flush_outbox(ws)) return;
      now = Steady::now();
      if (!binance) {
        if (now >= next_tic) {
          if (!send(ws, "tic")) return;
          next_tic = now + o.tic_interval;
        }
        if (o.resubscribe_every.count() > 0 && now >= next_renew) {
          // Client Portal ends an smd subscription after 10 minutes: renew each.
          std::vector<Sub> current;
          {
            std::lock_guard lock(mu);
            current = subs;
          }
          std::vector<const Sub*> renew;
          for (const auto& s : current) {
            if (watched.contains(s.conid)) renew.push_back(&s);
          }
          queue(true, renew);
          next_renew = now + o.resubscribe_every;
          if (!flush_outbox(ws)) return;
        }
      }
      const auto stall_at = last_activity + o.stall_timeout;
      auto wait = std::min<Steady::duration>(kPoll, stall_at - now);
      if (!outbox.empty()) wait = std::min<Steady::duration>(wait, next_control - now);
      if (!binance) wait = std::min<Steady::duration>(wait, next_tic - now);
      const auto wait_ms = std::max(std::chrono::ceil<std::chrono::milliseconds>(wait), 1ms);
      auto r = ws.receive_into(frame, wait_ms);
      if (!r) {
        if (stop.load(std::memory_order_relaxed)) return;
        if (r.error().code != ErrorCode::kTimeout) {
          ++c.drops;
          set_error(r.error().message);
          return;
        }
        // Pings count as life: a quiet symbol is not a stalled server.
        if (const auto seen = ws.control_frames(); seen != control_seen) {
          control_seen = seen;
          last_activity = Steady::now();
        }
        if (Steady::now() >= last_activity + o.stall_timeout) {
          ++c.stalls;
          set_error(fmt::format("{}: nothing received for {} ms: reconnecting", ws.host(),
                                o.stall_timeout.count()));
          return;
        }
        continue;
      }
      last_activity = Steady::now();
      had_frame = true;
      handle(frame);
    }
    ws.close(kCloseTimeout);
  }

  void wait_backoff() {
    delay = delay.count() == 0 ? o.backoff_min : std::min(delay * 2, o.backoff_max);
    // 0.75..1.25 of the delay, from the seeded generator (53 random bits as a fraction).
    const double u = static_cast<double>(rng() >> 11) * 0x1p-53;
    auto wait = std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(delay.count()) * (0.75 + 0.5 * u)));
    wait = std::clamp(wait, o.backoff_min, o.backoff_max);
    c.last_backoff = wait;
    publish();
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return stop.load(); });
  }

  void run() {
    bool ever = false;
    core::UnixNanos down_since = 0;
    const net::WebSocketOptions wo{.timeout = o.connect_timeout,
                                   .ca_file = o.ca_file,
                                   .user_agent = o.user_agent,
                                   .max_frame_bytes = o.max_frame_bytes,
                                   .cancel = &stop};
    while (!stop.load()) {
      auto ws = net::WebSocketClient::connect(o.url, wo);
      if (!ws) {
        if (stop.load()) break;
        ++c.connect_failures;
        set_error(ws.error().message);
        wait_backoff();
        continue;
      }
      const core::UnixNanos now = clock.now();
      ++c.connects;
      std::optional<StreamGap> gap;
      if (ever) {
        ++c.reconnects;
        c.downtime_ns += std::max<core::UnixNanos>(0, now - down_since);
        if (!binance) {  // no trade ids: the time away is the gap
          gap = StreamGap{.from = down_since, .to = now};
          ++c.gaps;
        }
      }
      {
        std::lock_guard lock(mu);
        connected = true;
        connected_since = now;
        shared = c;
      }
      if (gap) report(*gap);
      ever = true;
      session(*ws);
      down_since = clock.now();
      {
        std::lock_guard lock(mu);
        connected = false;
        shared = c;
      }
      if (stop.load()) break;
      if (had_frame) delay = {};  // it worked for a while: start again from backoff_min
      wait_backoff();
    }
  }
};

LiveStream::LiveStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveStream::~LiveStream() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

core::Result<std::unique_ptr<LiveStream>> LiveStream::start(LiveStreamOptions o,
                                                            const core::Clock& clock,
                                                            StreamSink sink) {
  const auto invalid = [](std::string message) {
    return fail(ErrorCode::kInvalidArgument, std::move(message));
  };
  const bool binance = o.kind == "binance";
  if (!binance && o.kind != "ibkr") {
    return invalid(fmt::format("stream kind must be 'binance' or 'ibkr', not '{}'", o.kind));
  }
  if (auto u = net::parse_ws_url(o.url); !u) {
    return invalid(fmt::format("{} stream: {}", o.kind, u.error().message));
  }
  if (binance && lower(o.url).find("timeunit=") != std::string::npos) {
    return invalid(
        "binance stream: the decoder reads millisecond times; drop timeUnit from the url");
  }
  if (!sink) return invalid(fmt::format("{} stream: no sink", o.kind));
  if (o.connect_timeout.count() <= 0 || o.stall_timeout.count() <= 0) {
    return invalid(
        fmt::format("{} stream: connect_timeout and stall_timeout must be positive", o.kind));
  }
  if (o.backoff_min.count() <= 0 || o.backoff_max < o.backoff_min) {
    return invalid(fmt::format(
        "{} stream: backoff_min must be positive and backoff_max at least backoff_min", o.kind));
  }
  if (o.max_symbols == 0 || o.max_pending_control == 0 || o.max_frame_bytes < 1024) {
    return invalid(fmt::format(
        "{} stream: max_symbols and max_pending_control must be positive, max_frame_bytes at "
        "least 1024",
        o.kind));
  }
  const auto interval = o.control_interval.value_or(binance ? 250ms : 0ms);
  if (interval.count() < 0)
    return invalid(fmt::format("{} stream: negative control_interval", o.kind));
  if (!binance) {
    if (!o.resolve_conid) return invalid("ibkr stream: resolve_conid is needed to find conids");
    if (o.tic_interval.count() <= 0) return invalid("ibkr stream: tic_interval must be positive");
    if (o.resubscribe_every.count() < 0) return invalid("ibkr stream: negative resubscribe_every");
    const bool plain = std::all_of(o.ibkr_session.begin(), o.ibkr_session.end(), [](char ch) {
      return static_cast<unsigned char>(ch) >= 0x20 && ch != '"' && ch != '\\';
    });
    if (!plain) return invalid("ibkr stream: ibkr_session has quotes, backslashes or controls");
  }
  auto impl = std::make_unique<Impl>(std::move(o), clock, std::move(sink));
  impl->binance = binance;
  impl->control_interval = interval;
  for (const auto& s : std::vector<std::string>(impl->o.symbols)) {
    if (auto r = impl->add(s); !r) return std::unexpected(r.error());
  }
  try {
    impl->thread = std::thread([p = impl.get()] {
      try {
        p->run();
      } catch (const std::exception& e) {  // nothing below throws by design; keep it so
        p->set_error(fmt::format("stream thread stopped: {}", e.what()));
      }
    });
  } catch (const std::system_error& e) {
    return fail(ErrorCode::kInternal,
                fmt::format("cannot start the stream's thread: {}", e.what()));
  }
  return std::unique_ptr<LiveStream>(new LiveStream(std::move(impl)));
}

core::Result<void> LiveStream::subscribe(std::string_view symbol) { return impl_->add(symbol); }

core::Result<void> LiveStream::unsubscribe(std::string_view symbol) {
  return impl_->remove(symbol);
}

LiveStreamStatus LiveStream::status() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  const Counters& n = m.shared;
  LiveStreamStatus s{.kind = m.o.kind,
                     .url = m.o.url,
                     .connected = m.connected,
                     .connects = n.connects,
                     .reconnects = n.reconnects,
                     .connect_failures = n.connect_failures,
                     .drops = n.drops,
                     .stalls = n.stalls,
                     .frames = n.frames,
                     .trades = n.trades,
                     .quotes = n.quotes,
                     .control_frames = n.control_frames,
                     .heartbeats = n.heartbeats,
                     .ignored = n.ignored,
                     .duplicates = n.duplicates,
                     .gaps = n.gaps,
                     .missing_trades = n.missing_trades,
                     .downtime_ns = n.downtime_ns,
                     .decode_errors = n.decode_errors,
                     .server_errors = n.server_errors,
                     .sink_errors = n.sink_errors,
                     .control_sent = n.control_sent,
                     .last_backoff = n.last_backoff,
                     .last_error = m.last_error,
                     .connected_since = m.connected_since,
                     .last_frame_at = n.last_frame_at};
  for (const auto& sub : m.subs) s.symbols.push_back(sub.symbol);
  return s;
}

}  // namespace nautilus::marketdata
