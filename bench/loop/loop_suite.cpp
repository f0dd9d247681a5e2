#include "loop_suite.hpp"

#include <fmt/format.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "nautilus/accounting/account.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/clock.hpp"
#include "nautilus/core/enum_names.hpp"
#include "nautilus/engines/portfolio/paper_exchange.hpp"
#include "nautilus/engines/risk/pretrade.hpp"
#include "nautilus/model/trading.hpp"
#include "var_bench.hpp"

namespace nautilus::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using model::OrderSide;

constexpr std::size_t kSymbols = 100;
constexpr std::int64_t kUnit = core::kFixedScale;   // one share, raw
constexpr double kPositionScale = 150;              // shares: where the side draw leans back
constexpr std::size_t kWindow = 4096;               // orders in flight in the threaded loop
constexpr std::int64_t kWindowExposureScale = 100;  // the caps, times the defaults, there

volatile std::uint64_t g_sink = 0;  // keeps the timed loops' results alive

// ---- the per-call timer ------------------------------------------------------------------
// lfence; rdtsc; lfence before and rdtscp; lfence after: the call cannot start before the
// first read nor be still running at the second. Ticks become nanoseconds by the TSC's rate
// against steady_clock over the same run.
#if defined(__x86_64__)
inline std::uint64_t ticks_begin() noexcept {
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}
inline std::uint64_t ticks_end() noexcept {
  unsigned aux = 0;
  const std::uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
}
#else
inline std::uint64_t ticks_begin() noexcept {
  return static_cast<std::uint64_t>(SteadyClock::now().time_since_epoch().count());
}
inline std::uint64_t ticks_end() noexcept { return ticks_begin(); }
#endif

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// The q-quantile (0..1) of `v`, reordering it.
double quantile(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const auto k =
      std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// ---- the universe --------------------------------------------------------------------------

core::Price cents(std::int64_t c) { return *core::Price::from_raw(c * (kUnit / 100), 2); }

struct Universe {
  std::vector<core::Symbol> symbols;
  std::vector<std::int64_t> cents;  // the starting prices, 20.00 to 200.00
  core::Symbol restricted = core::Symbol::from_trusted("LOOPR");
  model::Name strategy = model::Name::from_trusted("bench");
};

Universe make_universe() {
  Universe u;
  std::mt19937_64 rng(100);
  for (std::size_t i = 0; i < kSymbols; ++i) {
    u.symbols.push_back(core::Symbol::from_trusted(fmt::format("LOOP{:03}", i)));
    u.cents.push_back(2000 + static_cast<std::int64_t>(rng() % 18'001));
  }
  return u;
}

// The risk engine's default limits (risk_engine.cpp's settings), with the throttle raised so
// that it grants every order of the stream: it still runs on every passing order. The threaded
// loop keeps kWindow orders in flight, and open orders count toward the exposure caps (on every
// symbol, at worst), so there the caps are `exposure_scale` times the defaults: a loop that
// denied most of its orders would measure denials.
risk::Limits limits(const Universe& u, bool exposure_caps, std::int64_t exposure_scale = 1) {
  risk::Limits l{
      .max_order_quantity = 10'000 * kUnit,
      .max_order_notional = accounting::money(250'000),
      .max_position = 20'000 * kUnit,
      .max_gross_exposure = exposure_caps ? accounting::money(2'000'000 * exposure_scale) : 0,
      .max_net_exposure = exposure_caps ? accounting::money(1'000'000 * exposure_scale) : 0,
      .collar = 0.05,
      .orders_per_s = 1e7,
      .modifies_per_s = 100};
  l.restricted.insert(u.restricted);
  return l;
}

accounting::Account marked_books(const Universe& u) {
  accounting::Account books(accounting::money(10'000'000));
  for (std::size_t k = 0; k < kSymbols; ++k) books.mark(u.symbols[k], cents(u.cents[k]));
  return books;
}

// ---- risk.pretrade ---------------------------------------------------------------------------

struct CheckInput {
  model::NewOrder order;  // the side is chosen when it is sent, from the position then
  core::Price mark;       // the symbol's price just before the order (market data)
  double side_draw = 0;   // buy when below 0.5 - 0.4 * position / kPositionScale
  bool priced = true;     // false for the restricted symbol, which has no price
};

// Orders over the 100 symbols: 1 to 50 shares, 70 % market and 30 % limit within 2 % of the
// last price; a few are denied: 1 % on the restricted symbol, 0.5 % too large in notional,
// 0.5 % too large in quantity, 1 % of the limits outside the 5 % collar; the exposure caps deny
// some when the positions add up. Prices move by a random walk between orders.
std::vector<CheckInput> pretrade_stream(const Universe& u, std::size_t n) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uni;
  std::normal_distribution<double> z;
  std::vector<std::int64_t> px = u.cents;
  std::vector<CheckInput> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = rng() % kSymbols;
    px[k] = std::max<std::int64_t>(
        100, std::llround(static_cast<double>(px[k]) * std::exp(0.0005 * z(rng))));
    CheckInput c{.order = {.client_order_id = i + 1,
                           .symbol = u.symbols[k],
                           .strategy = u.strategy,
                           .type = model::OrderType::kMarket,
                           .tif = model::TimeInForce::kDay,
                           .quantity = core::Quantity::from_units(
                               1 + static_cast<std::int64_t>(rng() % 50))},
                 .mark = cents(px[k]),
                 .side_draw = uni(rng)};
    const double kind = uni(rng);
    if (kind < 0.01) {
      c.order.symbol = u.restricted;
      c.priced = false;
    } else if (kind < 0.015) {  // over max_order_notional (250,000), under 10,000 shares
      c.order.quantity =
          core::Quantity::from_units(std::min<std::int64_t>(9'999, 30'000'000 / px[k] + 1));
    } else if (kind < 0.02) {  // over max_order_quantity
      c.order.quantity = core::Quantity::from_units(15'000);
    }
    if (uni(rng) < 0.3) {
      c.order.type = model::OrderType::kLimit;
      const double off = uni(rng) < 0.01 ? (uni(rng) < 0.5 ? -0.08 : 0.08) : 0.04 * uni(rng) - 0.02;
      c.order.price =
          cents(std::max<std::int64_t>(1, std::llround(static_cast<double>(px[k]) * (1 + off))));
    }
    out.push_back(c);
  }
  return out;
}

struct PretradeRun {
  double p50_ns = 0, p99_ns = 0, mean_ns = 0;
  double floor_p50_ns = 0, floor_p99_ns = 0;
  std::size_t timed = 0, denied = 0, open_positions = 0;
  std::array<std::size_t, 32> reasons{};
};

PretradeRun run_pretrade(const Universe& u, const std::vector<CheckInput>& in, bool caps,
                         std::size_t warmup) {
  accounting::Account books = marked_books(u);
  risk::PreTrade gate(limits(u, caps), core::realtime_clock());
  std::vector<std::uint32_t> ticks;
  ticks.reserve(in.size());
  std::uint64_t trade_id = 0;
  std::uint64_t sum = 0;
  PretradeRun r;
  const auto s0 = SteadyClock::now();
  const std::uint64_t t0 = ticks_begin();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const CheckInput& c = in[i];
    model::NewOrder o = c.order;
    if (c.priced) {
      books.mark(o.symbol, c.mark);
      const double pos =
          static_cast<double>(books.quantity_raw(o.symbol)) / static_cast<double>(kUnit);
      o.side = c.side_draw < 0.5 - 0.4 * std::clamp(pos / kPositionScale, -1.0, 1.0)
                   ? OrderSide::kBuy
                   : OrderSide::kSell;
    }
    const std::uint64_t a = ticks_begin();
    const auto denied = gate.check(o, books);
    const std::uint64_t b = ticks_end();
    const bool timed = i >= warmup;
    if (timed) {
      ticks.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(b - a, UINT32_MAX)));
      sum += b - a;
    }
    if (denied) {
      if (timed) {
        ++r.denied;
        ++r.reasons[static_cast<std::size_t>(denied->reason) % r.reasons.size()];
      }
      continue;
    }
    // Filled at once, outside the timing: the books and the gate as the risk engine's fill
    // handler updates them.
    const model::Fill f{.trade_id = ++trade_id,
                        .client_order_id = o.client_order_id,
                        .symbol = o.symbol,
                        .side = o.side,
                        .quantity = o.quantity,
                        .price = o.type == model::OrderType::kLimit ? o.price : c.mark,
                        .commission = cents(1)};
    if (!books.apply(f)) std::abort();
    gate.on_fill(o.client_order_id, o.quantity.raw());
  }
  const std::uint64_t t1 = ticks_end();
  const double ns_per_tick =
      std::chrono::duration<double, std::nano>(SteadyClock::now() - s0).count() /
      static_cast<double>(t1 - t0);
  // The timer with nothing between its reads, as many times.
  std::vector<std::uint32_t> floor(ticks.size());
  for (auto& v : floor) {
    const std::uint64_t a = ticks_begin();
    const std::uint64_t b = ticks_end();
    v = static_cast<std::uint32_t>(b - a);
  }
  const double floor_p50 = quantile(floor, 0.5);
  r.timed = ticks.size();
  r.floor_p50_ns = floor_p50 * ns_per_tick;
  r.floor_p99_ns = quantile(floor, 0.99) * ns_per_tick;
  r.p50_ns = std::max(0.0, quantile(ticks, 0.5) - floor_p50) * ns_per_tick;
  r.p99_ns = std::max(0.0, quantile(ticks, 0.99) - floor_p50) * ns_per_tick;
  r.mean_ns = std::max(0.0, static_cast<double>(sum) / static_cast<double>(r.timed) - floor_p50) *
              ns_per_tick;
  r.open_positions = books.open_positions();
  g_sink = g_sink + gate.passed();
  return r;
}

std::string denial_mix(const PretradeRun& r) {
  std::vector<std::pair<std::size_t, std::string>> v;
  for (std::size_t i = 0; i < r.reasons.size(); ++i) {
    if (r.reasons[i] == 0) continue;
    v.emplace_back(r.reasons[i], std::string(core::enum_name(static_cast<model::DenyReason>(i))));
  }
  std::sort(v.rbegin(), v.rend());
  std::string out;
  for (const auto& [count, name] : v) {
    out += fmt::format("{}{} {:.2g} %", out.empty() ? "" : ", ", name,
                       100.0 * static_cast<double>(count) / static_cast<double>(r.timed));
  }
  return out;
}

void run_pretrade_figures(const SuiteOptions& o, const Universe& u) {
  for (const bool caps : {true, false}) {
    const std::string name = caps ? "risk.pretrade" : "risk.pretrade_uncapped";
    if (!o.wants(name + "_p50_ns") && !o.wants(name + "_p99_ns")) continue;
    const std::size_t n = o.quick ? 100'000 : 1'000'000;
    const std::size_t warmup = n / 20;
    const auto in = pretrade_stream(u, n + warmup);
    std::vector<double> p50, p99, mean, f50, f99;
    PretradeRun last;
    for (std::size_t i = 0; i < std::max<std::size_t>(o.runs, 1); ++i) {
      last = run_pretrade(u, in, caps, warmup);
      p50.push_back(last.p50_ns);
      p99.push_back(last.p99_ns);
      mean.push_back(last.mean_ns);
      f50.push_back(last.floor_p50_ns);
      f99.push_back(last.floor_p99_ns);
    }
    const std::string what =
        caps ? "the risk engine's default limits (gross and net exposure caps included)"
             : "the default limits without the gross and net exposure caps";
    const std::string common = fmt::format(
        "{} orders on 100 symbols ({} positions open at the end), {}, throttle 1e7/s; {:.1f} % "
        "denied ({}); TSC per call net of the timer's median",
        last.timed, last.open_positions, what,
        100.0 * static_cast<double>(last.denied) / static_cast<double>(last.timed),
        denial_mix(last));
    if (o.wants(name + "_p50_ns")) {
      print({.bench = name + "_p50_ns",
             .value = median(p50),
             .unit = "ns",
             .anchor = "timer_floor_p50_ns",
             .anchor_value = median(f50),
             .runs = p50.size(),
             .note = fmt::format("{}; mean {:.0f} ns{}", common, median(mean),
                                 caps ? "; target <= 100" : "")},
            o.json);
    }
    if (o.wants(name + "_p99_ns")) {
      print({.bench = name + "_p99_ns",
             .value = median(p99),
             .unit = "ns",
             .anchor = "timer_floor_p99_ns",
             .anchor_value = median(f99),
             .runs = p99.size(),
             .note = fmt::format("{}{}", common, caps ? "; target <= 1000" : "")},
            o.json);
    }
  }
}

// ---- portfolio ---------------------------------------------------------------------------------

// Fills over the 100 symbols, 1 to 100 shares, the side leaning against the position; 2 % are
// large enough to flip it. Unique trade ids.
std::vector<model::Fill> fill_stream(const Universe& u, std::size_t n) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> uni;
  std::normal_distribution<double> z;
  std::vector<std::int64_t> px = u.cents;
  std::vector<std::int64_t> pos(kSymbols, 0);
  std::vector<model::Fill> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = rng() % kSymbols;
    px[k] = std::max<std::int64_t>(
        100, std::llround(static_cast<double>(px[k]) * std::exp(0.0005 * z(rng))));
    std::int64_t q = 1 + static_cast<std::int64_t>(rng() % 100);
    bool buy =
        uni(rng) < 0.5 - 0.4 * std::clamp(static_cast<double>(pos[k]) / kPositionScale, -1.0, 1.0);
    if (uni(rng) < 0.02 && pos[k] != 0) {  // through zero
      buy = pos[k] < 0;
      q = std::abs(pos[k]) + q;
    }
    pos[k] += buy ? q : -q;
    out.push_back({.trade_id = i + 1,
                   .client_order_id = i + 1,
                   .symbol = u.symbols[k],
                   .side = buy ? OrderSide::kBuy : OrderSide::kSell,
                   .quantity = core::Quantity::from_units(q),
                   .price = cents(px[k]),
                   .commission = cents(1),
                   .ts_event = static_cast<core::UnixNanos>(i)});
  }
  return out;
}

double account_fills_per_s(const std::vector<model::Fill>& fills) {
  accounting::Account books(accounting::money(10'000'000));
  const auto t0 = SteadyClock::now();
  for (const auto& f : fills) {
    if (!books.apply(f)) std::abort();
  }
  const double s = seconds_since(t0);
  g_sink = g_sink + static_cast<std::uint64_t>(books.cash());
  return static_cast<double>(fills.size()) / s;
}

// The anchor: what any books keyed like these must do per fill, and nothing else.
double bare_books_fills_per_s(const std::vector<model::Fill>& fills) {
  std::unordered_set<std::uint64_t> ids;
  std::unordered_map<core::Symbol, std::int64_t> pos;
  const auto t0 = SteadyClock::now();
  for (const auto& f : fills) {
    if (!ids.insert(f.trade_id).second) std::abort();
    pos[f.symbol] += f.side == OrderSide::kBuy ? f.quantity.raw() : -f.quantity.raw();
  }
  const double s = seconds_since(t0);
  std::int64_t total = 0;
  for (const auto& [sym, q] : pos) total += q;
  g_sink = g_sink + static_cast<std::uint64_t>(total);
  return static_cast<double>(fills.size()) / s;
}

// Paper execution of the same stream as market orders: submit, the print that fills it, the
// fill applied to the books.
double paper_fills_per_s(const Universe& u, const std::vector<model::Fill>& fills) {
  portfolio::PaperExchange ex({.latency_ns = 0, .slippage_bps = 1, .fee_bps = 0.5});
  accounting::Account books(accounting::money(10'000'000));
  std::vector<portfolio::ExecutionEvent> events;
  std::size_t filled = 0;
  core::UnixNanos ts = 1'767'261'600'000'000'000;  // 2026-01-01T10:00Z
  const auto t0 = SteadyClock::now();
  for (const auto& f : fills) {
    const model::NewOrder o{.client_order_id = f.client_order_id,
                            .symbol = f.symbol,
                            .strategy = u.strategy,
                            .side = f.side,
                            .type = model::OrderType::kMarket,
                            .tif = model::TimeInForce::kDay,
                            .quantity = f.quantity};
    if (!ex.submit(o, ts)) std::abort();
    events.clear();
    ex.on_print(f.symbol, f.price, f.quantity.raw(), ts + 1, events);
    for (const auto& ev : events) {
      if (const auto* fill = std::get_if<model::Fill>(&ev)) {
        if (!books.apply(*fill)) std::abort();
        ++filled;
      }
    }
    ts += 2;
  }
  const double s = seconds_since(t0);
  if (filled != fills.size()) std::abort();
  return static_cast<double>(filled) / s;
}

void run_portfolio_figures(const SuiteOptions& o, const Universe& u) {
  const bool apply = o.wants("portfolio.fills_per_s");
  const bool paper = o.wants("portfolio.paper_fills_per_s");
  if (!apply && !paper) return;
  const std::size_t n = o.quick ? 200'000 : 2'000'000;
  const auto fills = fill_stream(u, n);
  const std::size_t runs = std::max<std::size_t>(o.runs, 1);
  if (apply) {
    std::vector<double> ours, bare, ratio;
    for (std::size_t i = 0; i < runs; ++i) {
      ours.push_back(account_fills_per_s(fills));
      bare.push_back(bare_books_fills_per_s(fills));
      ratio.push_back(ours.back() / bare.back());
    }
    print({.bench = "portfolio.fills_per_s",
           .value = median(ours),
           .unit = "fills/s",
           .anchor = "bare_books_fills_per_s",
           .anchor_value = median(bare),
           .runs = runs,
           .note = fmt::format("Account::apply of {} fills on 100 symbols (opens, adds, reduces, "
                               "closes, 2 % flips), unique trade ids; anchor: a trade-id set "
                               "and a position map alone; target >= 5e6",
                               n),
           .ratio = median(ratio)},
          o.json);
  }
  if (paper) {
    const std::size_t m = std::min<std::size_t>(n, o.quick ? 100'000 : 1'000'000);
    const std::vector<model::Fill> part(fills.begin(),
                                        fills.begin() + static_cast<std::ptrdiff_t>(m));
    const double v = median_of(runs, [&] { return paper_fills_per_s(u, part); });
    print({.bench = "portfolio.paper_fills_per_s",
           .value = v,
           .unit = "fills/s",
           .runs = runs,
           .note = fmt::format("PaperExchange submit of a market order, the print that fills "
                               "it, Account::apply of the fill; {} orders on 100 symbols",
                               m)},
          o.json);
  }
}

// ---- loop --------------------------------------------------------------------------------------

// Market orders over the 100 symbols, each symbol's alternating buy q and sell q (q from 10 to
// 50 shares), so every order passes the default limits and positions stay bounded.
std::vector<model::NewOrder> loop_orders(const Universe& u, std::size_t n) {
  std::mt19937_64 rng(13);
  std::vector<bool> buy_next(kSymbols, true);
  std::vector<std::int64_t> q(kSymbols, 0);
  std::vector<model::NewOrder> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = rng() % kSymbols;
    if (buy_next[k]) q[k] = 10 + static_cast<std::int64_t>(rng() % 41);
    out.push_back({.client_order_id = i + 1,
                   .symbol = u.symbols[k],
                   .strategy = u.strategy,
                   .side = buy_next[k] ? OrderSide::kBuy : OrderSide::kSell,
                   .type = model::OrderType::kMarket,
                   .tif = model::TimeInForce::kDay,
                   .quantity = core::Quantity::from_units(q[k])});
    buy_next[k] = !buy_next[k];
  }
  return out;
}

// One thread writes each counter; others read it.
void bump(std::atomic<std::uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// Two switches for finding where the loop's time goes, off by default (the figures are the
// platform as it is): NAUTILUS_BENCH_LOOP_NO_EXPOSURE_CAPS=1 runs the gate without the gross and
// net exposure caps; NAUTILUS_BENCH_LOOP_TOPIC_HANDLES=1 publishes through topics resolved once
// per symbol instead of names formatted per publish.
struct LoopSwitches {
  bool exposure_caps = true;
  bool topic_handles = false;
};

LoopSwitches loop_switches() {
  const auto on = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && std::string_view(v) == "1";
  };
  return {.exposure_caps = !on("NAUTILUS_BENCH_LOOP_NO_EXPOSURE_CAPS"),
          .topic_handles = on("NAUTILUS_BENCH_LOOP_TOPIC_HANDLES")};
}

// One topic family ("risk.order"), per symbol: the name formatted at each publish, as the
// engines publish (`publisher.publish(fmt::format("risk.order.{}", symbol), ...)`), or, with
// the switch, a handle resolved once.
class Topics {
 public:
  Topics(bus::MessageBus& bus, std::string_view family, const Universe& u, bool handles)
      : family_(family) {
    if (!handles) return;
    for (const auto s : u.symbols) {
      handles_.emplace(s, *bus.topic(fmt::format("{}.{}", family, s.value())));
    }
  }
  template <class T>
  void publish(bus::Publisher& p, core::Symbol s, const T& msg, const bus::PublishOptions& o = {}) {
    if (handles_.empty()) {
      (void)p.publish(fmt::format("{}.{}", family_, s.value()), msg, o);
    } else {
      (void)p.publish(handles_.at(s), msg, o);
    }
  }

 private:
  std::string family_;
  std::unordered_map<core::Symbol, bus::TopicHandle> handles_;
};

// The engines' handlers on one bus. `work` false: the same topics, messages and threads with
// handlers that only pass the message on (the anchor).
struct LoopRig {
  bus::MessageBus bus;
  accounting::Account risk_books, books;
  risk::PreTrade gate;
  bus::Publisher risk_pub = *bus.publisher("risk");
  bus::Publisher portfolio_pub = *bus.publisher("portfolio");
  std::shared_ptr<bus::Mailbox> risk_mb, portfolio_mb;  // null: inline
  std::atomic<std::uint64_t> applied{0}, denied{0}, risk_fills{0};
  std::uint64_t next_trade = 0;
  core::Price commission = cents(1);
  Topics order_new, risk_order, order_event, portfolio_fill;
  std::optional<bus::MailboxThread> risk_thread, portfolio_thread;  // last: stopped first

  LoopRig(const Universe& u, bool threads, bool work, const LoopSwitches& sw)
      : risk_books(marked_books(u)),
        books(marked_books(u)),
        gate(limits(u, sw.exposure_caps, threads ? kWindowExposureScale : 1), bus.clock()),
        order_new(bus, "order.new", u, sw.topic_handles),
        risk_order(bus, "risk.order", u, sw.topic_handles),
        order_event(bus, "order.event", u, sw.topic_handles),
        portfolio_fill(bus, "portfolio.fill", u, sw.topic_handles) {
    if (threads) {
      risk_mb = bus.create_mailbox({.name = "risk"});
      portfolio_mb = bus.create_mailbox({.name = "portfolio"});
    }
    const auto on = [&](const char* pattern, bus::Handler h, std::shared_ptr<bus::Mailbox> mb,
                        const char* owner) {
      auto sub = bus.subscribe(pattern, std::move(h),
                               {.mailbox = std::move(mb),
                                .policy = bus::OverflowPolicy::kBlock,
                                .block_bound = std::chrono::seconds(10),
                                .owner = owner});
      if (!sub) {
        fmt::print(stderr, "bench loop: {}\n", sub.error().message);
        std::abort();
      }
    };
    // risk: orders in, approved orders out.
    on(
        "order.new.*",
        [this, work](const bus::Envelope& e) {
          const auto* o = e.get<model::NewOrder>();
          if (o == nullptr) return;
          if (work) {
            if (auto d = gate.check(*o, risk_books)) {
              order_event.publish(risk_pub, o->symbol, *d, {.ts_event = d->ts_event});
              bump(denied);
              return;
            }
          }
          risk_order.publish(risk_pub, o->symbol, *o, {.ts_event = o->ts_event});
        },
        risk_mb, "risk");
    // portfolio: an approved order filled at once at the last price.
    on(
        "risk.order.*",
        [this, work](const bus::Envelope& e) {
          const auto* o = e.get<model::NewOrder>();
          if (o == nullptr) return;
          const auto mark =
              work ? books.mark_of(o->symbol) : std::optional<core::Price>(commission);
          if (!mark) std::abort();
          const model::Fill f{.trade_id = ++next_trade,
                              .client_order_id = o->client_order_id,
                              .symbol = o->symbol,
                              .side = o->side,
                              .liquidity = model::Liquidity::kTaker,
                              .quantity = o->quantity,
                              .price = *mark,
                              .commission = commission,
                              .ts_event = e.ts_publish};
          portfolio_fill.publish(portfolio_pub, f.symbol, f, {.ts_event = f.ts_event});
        },
        portfolio_mb, "portfolio");
    // portfolio: the fill on its books, on its own thread (inline on the thread that publishes
    // fills), as the engine applies each fill as it publishes it.
    on(
        "portfolio.fill.*",
        [this, work](const bus::Envelope& e) {
          const auto* f = e.get<model::Fill>();
          if (f == nullptr) return;
          if (work && !books.apply(*f)) std::abort();
          bump(applied);
        },
        nullptr, "portfolio");
    // risk: its own books and open orders from the same fills.
    on(
        "portfolio.fill.*",
        [this, work](const bus::Envelope& e) {
          const auto* f = e.get<model::Fill>();
          if (f == nullptr) return;
          if (work) {
            if (!risk_books.apply(*f)) std::abort();
            gate.on_fill(f->client_order_id, f->quantity.raw());
          }
          bump(risk_fills);
        },
        risk_mb, "risk");
    if (threads) {
      risk_thread.emplace(risk_mb);
      portfolio_thread.emplace(portfolio_mb);
    }
  }

  [[nodiscard]] std::uint64_t done() const {
    return applied.load(std::memory_order_acquire) + denied.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool settled(std::uint64_t n) const {
    return done() == n &&
           risk_fills.load(std::memory_order_acquire) == applied.load(std::memory_order_acquire);
  }
};

struct LoopRun {
  double orders_per_s = 0;
  std::uint64_t denied = 0;
};

LoopRun run_loop(const Universe& u, const std::vector<model::NewOrder>& orders, bool threads,
                 bool work, const LoopSwitches& sw) {
  LoopRig rig(u, threads, work, sw);
  bus::Publisher strategy = *rig.bus.publisher("strategy");
  const auto send = [&](const model::NewOrder& o) { rig.order_new.publish(strategy, o.symbol, o); };
  const auto wait_until = [&](auto&& pred) {
    while (!pred()) std::this_thread::sleep_for(std::chrono::microseconds(20));
  };
  // The first orders resolve every topic (the publishers cache them): untimed.
  const std::size_t warm = std::min<std::size_t>(orders.size() / 10, 2'000);
  for (std::size_t i = 0; i < warm; ++i) send(orders[i]);
  wait_until([&] { return rig.settled(warm); });
  const auto t0 = SteadyClock::now();
  for (std::size_t i = warm; i < orders.size(); ++i) {
    // The strategy keeps at most kWindow orders in flight: the mailboxes never fill, so no
    // engine waits on the other's full mailbox (risk and portfolio publish to each other).
    if (threads && i - rig.done() >= kWindow) {
      wait_until([&] { return i - rig.done() <= kWindow / 2; });
    }
    send(orders[i]);
  }
  wait_until([&] { return rig.settled(orders.size()); });
  const double s = seconds_since(t0);
  return {.orders_per_s = static_cast<double>(orders.size() - warm) / s,
          .denied = rig.denied.load()};
}

void run_loop_figures(const SuiteOptions& o, const Universe& u) {
  const std::size_t n = o.quick ? 50'000 : 1'000'000;
  const LoopSwitches sw = loop_switches();
  std::string switched;
  if (!sw.exposure_caps) switched += "; NAUTILUS_BENCH_LOOP_NO_EXPOSURE_CAPS: no exposure caps";
  if (sw.topic_handles) switched += "; NAUTILUS_BENCH_LOOP_TOPIC_HANDLES: topics resolved once";
  std::optional<std::vector<model::NewOrder>> orders;
  for (const bool threads : {true, false}) {
    const std::string name = threads ? "loop.orders_per_s" : "loop.inline_orders_per_s";
    if (!o.wants(name)) continue;
    if (!orders) orders = loop_orders(u, n);
    std::vector<double> ours, hops, ratio;
    std::uint64_t denied = 0;
    for (std::size_t i = 0; i < std::max<std::size_t>(o.runs, 1); ++i) {
      const LoopRun r = run_loop(u, *orders, threads, true, sw);
      denied = r.denied;
      ours.push_back(r.orders_per_s);
      hops.push_back(run_loop(u, *orders, threads, false, sw).orders_per_s);
      ratio.push_back(ours.back() / hops.back());
    }
    print({.bench = name,
           .value = median(ours),
           .unit = "orders/s",
           .anchor = "bus_hops_only",
           .anchor_value = median(hops),
           .runs = ours.size(),
           .note = fmt::format(
               "{} market orders on 100 symbols: order.new -> PreTrade::check -> risk.order -> "
               "a fill at the last price -> portfolio.fill -> Account::apply (portfolio) and "
               "Account::apply + on_fill (risk); {}; {} denied; anchor: the same hops with "
               "handlers that only pass the message on{}{}",
               n,
               threads ? "risk and portfolio on their own mailbox threads, at most 4096 in "
                         "flight"
                       : "every subscription inline, one thread",
               denied, threads ? "; target >= 1e6" : "", switched),
           .ratio = median(ratio)},
          o.json);
  }
}

}  // namespace

void run_loop_suite(const SuiteOptions& o) {
  const Universe u = make_universe();
  run_pretrade_figures(o, u);
  run_portfolio_figures(o, u);
  run_loop_figures(o, u);
  run_var_bench(o);
}

}  // namespace nautilus::bench
