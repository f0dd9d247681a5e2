#include "request_server.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "live_sources.hpp"
#include "nautilus/core/time.hpp"
#include "sources.hpp"

namespace nautilus::marketdata {
namespace {

// In the order of RequestServer::Endpoint.
constexpr std::array<std::string_view, 6> kEndpointNames = {
    "marketdata.history",  "marketdata.reference", "marketdata.filings",
    "marketdata.universe", "marketdata.subscribe", "marketdata.unsubscribe"};

model::RequestError error_of(const core::Error& e) {
  switch (e.code) {
    case core::ErrorCode::kInvalidArgument:
    case core::ErrorCode::kOutOfRange:
      return model::RequestError::kInvalidArgument;
    case core::ErrorCode::kNotFound:
      return model::RequestError::kNotFound;
    case core::ErrorCode::kCapacity:
      return model::RequestError::kRateLimited;
    case core::ErrorCode::kTimeout:
      return model::RequestError::kTimeout;
    default:
      return model::RequestError::kUnavailable;
  }
}

bool network_source(std::string_view s) {
  return s == "alphavantage" || s == "binance" || s == "ibkr";
}

}  // namespace

RequestServer::RequestServer(Deps deps) : deps_(std::move(deps)) {}

core::UnixNanos RequestServer::data_now() const {
  return deps_.data_now ? deps_.data_now() : deps_.ctx->clock().now();
}

RequestServer::~RequestServer() { stop(); }

core::Result<void> RequestServer::start(bus::Publisher* engine_publisher) {
  static_assert(kEndpointNames.size() == kEndpoints);
  pub_ = engine_publisher;
  auto& ctx = *deps_.ctx;
  const std::array<bus::Handler, kEndpoints> handlers = {
      [this](const bus::Envelope& e) { on_history(e); },
      [this](const bus::Envelope& e) { on_reference(e); },
      [this](const bus::Envelope& e) { on_filings(e); },
      [this](const bus::Envelope& e) { on_universe(e); },
      [this](const bus::Envelope& e) { on_stream(e, true); },
      [this](const bus::Envelope& e) { on_stream(e, false); }};
  for (std::size_t i = 0; i < kEndpointNames.size(); ++i) {
    auto id = ctx.serve(kEndpointNames[i], handlers[i]);
    if (!id) {
      return core::fail(id.error().code,
                        fmt::format("{}: {}", kEndpointNames[i], id.error().message));
    }
  }
  if (!ctx.simulated()) {
    auto p = ctx.publisher();
    if (!p) return std::unexpected(p.error());
    worker_pub_.emplace(std::move(*p));
    worker_ = std::thread([this] { run_worker(); });
  }
  return {};
}

void RequestServer::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void RequestServer::fail(bus::Publisher& pub, const bus::Envelope& req, Endpoint ep,
                         model::RequestError error, std::string_view detail) {
  counts_[ep][kFailed].fetch_add(1, std::memory_order_relaxed);
  model::RequestFailed f;
  f.endpoint = *core::FixedString<31>::create(kEndpointNames[ep]);
  f.error = error;
  f.detail = *core::FixedString<159>::create(detail.substr(0, 159));
  f.ts_event = deps_.ctx->clock().now();
  (void)pub.reply(req, f);
}

void RequestServer::reply_bars(bus::Publisher& pub, const bus::Envelope& req,
                               const model::HistoryRequest& q, std::string_view source, bool cached,
                               const BarStore::Page& page) {
  model::BarHistory h;
  h.symbol = q.symbol;
  h.interval_s = q.interval_s;
  h.source = *model::Name::create(source);
  h.cached = cached;
  h.more = page.more;
  h.next_start = page.next_start;
  const std::size_t n = page.bars.size();
  h.ts.reserve(n);
  h.open.reserve(n);
  h.high.reserve(n);
  h.low.reserve(n);
  h.close.reserve(n);
  h.volume.reserve(n);
  for (const auto& b : page.bars) {
    h.ts.push_back(b.ts_event);
    h.open.push_back(b.open);
    h.high.push_back(b.high);
    h.low.push_back(b.low);
    h.close.push_back(b.close);
    h.volume.push_back(b.volume);
  }
  h.ts_event = deps_.ctx->clock().now();
  counts_[kHistory][kOk].fetch_add(1, std::memory_order_relaxed);
  (void)pub.reply(req, std::move(h));
}

void RequestServer::on_history(const bus::Envelope& req) {
  auto& pub = *pub_;
  const auto* q = req.get<model::HistoryRequest>();
  if (q == nullptr) {
    return fail(pub, req, kHistory, model::RequestError::kInvalidArgument,
                fmt::format("marketdata.history wants a history_request, not {}", req.type_name()));
  }
  if (q->interval_s == 0) {
    return fail(pub, req, kHistory, model::RequestError::kInvalidArgument,
                "interval_s must be positive");
  }
  if (q->start < 0 || q->end < 0) {
    return fail(pub, req, kHistory, model::RequestError::kInvalidArgument,
                "start and end are times since the epoch (>= 0; end 0: up to now)");
  }
  if (q->end != 0 && q->end < q->start) {
    return fail(pub, req, kHistory, model::RequestError::kInvalidArgument, "end is before start");
  }
  if (q->limit > model::kMaxHistoryBars) {
    return fail(pub, req, kHistory, model::RequestError::kInvalidArgument,
                fmt::format("limit is at most {} bars a reply (page with next_start)",
                            model::kMaxHistoryBars));
  }
  const std::string_view source = q->source.view();
  if (source.empty() || source == "store") {
    if (defer(req, kHistory, &RequestServer::on_history)) return;
    if (const auto e = deps_.stores_ready ? deps_.stores_ready() : std::string(); !e.empty()) {
      return fail(pub, req, kHistory, model::RequestError::kUnavailable, e);
    }
    if (!deps_.store->has(q->symbol, q->interval_s)) {
      return fail(pub, req, kHistory, model::RequestError::kNotFound,
                  fmt::format("no stored {} s bars of {}; name a source (alphavantage, binance, "
                              "ibkr) to fetch them",
                              q->interval_s, q->symbol.value()));
    }
    // Nothing after the hub's clock: a backtest sees no bar from its future.
    const core::UnixNanos now = data_now();
    const core::UnixNanos end = q->end == 0 ? now : std::min(q->end, now);
    auto page = deps_.store->range(q->symbol, q->interval_s, q->start, end,
                                   q->limit == 0 ? 1000 : q->limit);
    return reply_bars(pub, req, *q, "store", false, page);
  }
  if (!network_source(source)) {
    return fail(pub, req, kHistory, model::RequestError::kInvalidArgument,
                fmt::format("unknown source '{}' (store, alphavantage, binance, ibkr)", source));
  }
  if (deps_.ctx->simulated()) return fetch_and_reply(pub, req);
  {
    std::unique_lock lock(mu_);
    if (auto it = parsed_.find(parsed_key(*q));
        it != parsed_.end() && it->second.expires > deps_.ctx->clock().now()) {
      // Replied outside the lock: an in-process reply handler runs inline, on this thread.
      const BarStore::Page page = it->second.page;
      lock.unlock();
      return reply_bars(pub, req, *q, source, true, page);
    }
    if (stopping_) {
      lock.unlock();
      return fail(pub, req, kHistory, model::RequestError::kUnavailable, "the hub is stopping");
    }
    if (queue_.size() < kMaxQueuedFetches) {
      queue_.push_back(req);
      cv_.notify_one();
      return;
    }
  }
  fail(pub, req, kHistory, model::RequestError::kRateLimited,
       fmt::format("{} source fetches already queued; try again", kMaxQueuedFetches));
}

void RequestServer::fetch_and_reply(bus::Publisher& pub, const bus::Envelope& req) {
  const auto& q = *req.get<model::HistoryRequest>();
  const core::UnixNanos now = data_now();
  const core::UnixNanos end = q.end == 0 ? now : std::min(q.end, now);
  bool cached = false;
  auto bars =
      deps_.sources->bars(q.source.view(), q.symbol.value(), q.interval_s, q.start, end, &cached);
  if (!bars) return fail(pub, req, kHistory, error_of(bars.error()), bars.error().message);
  // The source's answer, cut to the range and the limit like the store's.
  BarStore one;
  one.add(*bars);
  auto page = one.range(q.symbol, q.interval_s, q.start, end, q.limit == 0 ? 1000 : q.limit);
  reply_bars(pub, req, q, q.source.view(), cached, page);
  if (deps_.history_cache.count() > 0) {
    std::lock_guard lock(mu_);
    const core::UnixNanos t = deps_.ctx->clock().now();
    if (parsed_.size() >= kMaxParsedAnswers)
      std::erase_if(parsed_, [t](const auto& kv) { return kv.second.expires <= t; });
    if (parsed_.size() >= kMaxParsedAnswers) parsed_.clear();
    parsed_[parsed_key(q)] = Parsed{std::move(page), t + deps_.history_cache.count()};
  }
}

std::string RequestServer::parsed_key(const model::HistoryRequest& q) {
  // The range as asked (end 0 stays 0, not "now"), so an open-ended request repeats.
  return fmt::format("{}|{}|{}|{}|{}|{}", q.source.view(), q.symbol.value(), q.interval_s, q.start,
                     q.end, q.limit);
}

bool RequestServer::defer(const bus::Envelope& req, Endpoint ep, Handler handler) {
  if (!deps_.stores_loaded || deps_.stores_loaded()) return false;
  if (deferred_timer_ == 0) {
    auto t = deps_.ctx->set_timer_every("marketdata.stores", std::chrono::milliseconds(20),
                                        [this](core::UnixNanos) { handle_deferred(); });
    if (!t) return false;  // no timer (not begun yet): wait in the handler after all
    deferred_timer_ = *t;
  }
  if (deferred_.size() >= kMaxQueuedFetches) {
    fail(*pub_, req, ep, model::RequestError::kRateLimited,
         fmt::format("{} requests already wait for the stores to load; try again",
                     kMaxQueuedFetches));
    return true;
  }
  deferred_.emplace_back(handler, req);
  return true;
}

void RequestServer::handle_deferred() {
  if (!deps_.stores_loaded()) return;
  deps_.ctx->cancel_timer(deferred_timer_);
  deferred_timer_ = 0;
  auto waiting = std::move(deferred_);
  deferred_.clear();
  for (const auto& [handler, req] : waiting) (this->*handler)(req);
}

void RequestServer::run_worker() {
  auto& pub = *worker_pub_;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    bus::Envelope req = std::move(queue_.front());
    queue_.pop_front();
    const bool stopping = stopping_;
    lock.unlock();
    const bool stream = req.get<model::StreamRequest>() != nullptr;
    const bool subscribe = req.topic.value() == kEndpointNames[kSubscribe];
    if (stopping) {
      fail(pub, req, stream ? (subscribe ? kSubscribe : kUnsubscribe) : kHistory,
           model::RequestError::kUnavailable, "the hub is stopping");
    } else if (stream) {
      stream_and_reply(pub, req, subscribe);
    } else {
      fetch_and_reply(pub, req);
    }
    lock.lock();
  }
}

void RequestServer::on_reference(const bus::Envelope& req) {
  auto& pub = *pub_;
  const auto* q = req.get<model::ReferenceRequest>();
  if (q == nullptr) {
    return fail(
        pub, req, kReference, model::RequestError::kInvalidArgument,
        fmt::format("marketdata.reference wants a reference_request, not {}", req.type_name()));
  }
  const core::UnixNanos now = data_now();
  const core::UnixNanos at = q->as_of == 0 ? now : std::min(q->as_of, now);
  if (defer(req, kReference, &RequestServer::on_reference)) return;
  if (const auto e = deps_.stores_ready ? deps_.stores_ready() : std::string(); !e.empty()) {
    return fail(pub, req, kReference, model::RequestError::kUnavailable, e);
  }
  const ReferenceRecord* r = deps_.reference->find(q->symbol, at);
  if (r == nullptr) {
    return fail(pub, req, kReference, model::RequestError::kNotFound,
                fmt::format("no reference data for {} known by {}", q->symbol.value(),
                            core::format_timestamp(at)));
  }
  model::ReferenceData d;
  d.symbol = r->symbol;
  // The store holds at most kMaxReferenceText (47) bytes, what LongName holds.
  d.sector = *model::LongName::create(r->sector);
  d.industry = *model::LongName::create(r->industry);
  d.shares_outstanding = r->shares_outstanding;
  d.book_value = r->book_value;
  d.sales = r->sales;
  d.operating_cash_flow = r->operating_cash_flow;
  d.as_of = r->as_of;
  d.ts_event = now;
  counts_[kReference][kOk].fetch_add(1, std::memory_order_relaxed);
  (void)pub.reply(req, d);
}

void RequestServer::on_filings(const bus::Envelope& req) {
  auto& pub = *pub_;
  const auto* q = req.get<model::FilingsRequest>();
  if (q == nullptr) {
    return fail(pub, req, kFilings, model::RequestError::kInvalidArgument,
                fmt::format("marketdata.filings wants a filings_request, not {}", req.type_name()));
  }
  if (q->start < 0 || q->end < 0) {
    return fail(pub, req, kFilings, model::RequestError::kInvalidArgument,
                "start and end are times since the epoch (>= 0; end 0: up to now)");
  }
  if (q->end != 0 && q->end < q->start) {
    return fail(pub, req, kFilings, model::RequestError::kInvalidArgument, "end is before start");
  }
  // Nothing filed after where the data is: a backtest sees no filing from its future.
  const core::UnixNanos now = data_now();
  const core::UnixNanos end = q->end == 0 ? now : std::min(q->end, now);
  if (defer(req, kFilings, &RequestServer::on_filings)) return;
  if (const auto e = deps_.stores_ready ? deps_.stores_ready() : std::string(); !e.empty()) {
    return fail(pub, req, kFilings, model::RequestError::kUnavailable, e);
  }
  const auto all = deps_.reference->history(q->symbol);  // oldest first
  auto first = std::ranges::lower_bound(all, q->start, {}, &ReferenceRecord::as_of);
  const auto last = std::ranges::upper_bound(first, all.end(), end, {}, &ReferenceRecord::as_of);
  if (first >= last) {
    return fail(pub, req, kFilings, model::RequestError::kNotFound,
                fmt::format("no reference data for {} filed in [{}, {}]", q->symbol.value(),
                            core::format_timestamp(q->start), core::format_timestamp(end)));
  }
  model::ReferenceHistory h;
  // The newest kMaxHistoryBars when more match.
  if (constexpr auto kMax = static_cast<std::ptrdiff_t>(model::kMaxHistoryBars);
      last - first > kMax) {
    first = last - kMax;
    h.more = true;
  }
  const ReferenceRecord& latest = *(last - 1);
  h.symbol = latest.symbol;
  h.sector = *model::LongName::create(latest.sector);
  h.industry = *model::LongName::create(latest.industry);
  const auto n = static_cast<std::size_t>(last - first);
  h.as_of.reserve(n);
  h.shares_outstanding.reserve(n);
  h.book_value.reserve(n);
  h.sales.reserve(n);
  h.operating_cash_flow.reserve(n);
  for (auto it = first; it != last; ++it) {
    h.as_of.push_back(it->as_of);
    h.shares_outstanding.push_back(it->shares_outstanding);
    h.book_value.push_back(it->book_value);
    h.sales.push_back(it->sales);
    h.operating_cash_flow.push_back(it->operating_cash_flow);
  }
  h.ts_event = now;
  counts_[kFilings][kOk].fetch_add(1, std::memory_order_relaxed);
  (void)pub.reply(req, std::move(h));
}

void RequestServer::on_universe(const bus::Envelope& req) {
  auto& pub = *pub_;
  const auto* q = req.get<model::UniverseRequest>();
  if (q == nullptr) {
    return fail(
        pub, req, kUniverse, model::RequestError::kInvalidArgument,
        fmt::format("marketdata.universe wants a universe_request, not {}", req.type_name()));
  }
  if (q->limit == 0) {
    return fail(pub, req, kUniverse, model::RequestError::kInvalidArgument,
                fmt::format("limit must be positive (at most {} symbols a reply; page with after)",
                            model::kMaxHistoryBars));
  }
  if (q->as_of < 0) {
    return fail(pub, req, kUniverse, model::RequestError::kInvalidArgument,
                fmt::format("as_of {} is before 1970 (0: where the data is up to)", q->as_of));
  }
  const core::UnixNanos now = data_now();
  const core::UnixNanos at = q->as_of == 0 ? now : std::min(q->as_of, now);
  if (defer(req, kUniverse, &RequestServer::on_universe)) return;
  if (const auto e = deps_.stores_ready ? deps_.stores_ready() : std::string(); !e.empty()) {
    return fail(pub, req, kUniverse, model::RequestError::kUnavailable, e);
  }
  const std::size_t limit = std::min(q->limit, model::kMaxHistoryBars);
  const std::vector<core::Symbol> names = deps_.reference->symbols();  // sorted by name
  const std::string_view after = q->after.view();
  auto it = after.empty() ? names.begin()
                          : std::ranges::upper_bound(names, after, {}, &core::Symbol::value);
  model::UniverseMembers m;
  m.as_of = at;
  for (; it != names.end(); ++it) {
    const ReferenceRecord* r = deps_.reference->find(*it, at);
    if (r == nullptr) continue;  // not known yet at `at`
    if (m.symbols.size() == limit) {
      m.more = true;
      break;
    }
    m.symbols.push_back(*it);
    m.sectors.push_back(*model::LongName::create(r->sector));
  }
  m.ts_event = now;
  counts_[kUniverse][kOk].fetch_add(1, std::memory_order_relaxed);
  (void)pub.reply(req, std::move(m));
}

void RequestServer::on_stream(const bus::Envelope& req, bool subscribe) {
  auto& pub = *pub_;
  const Endpoint ep = subscribe ? kSubscribe : kUnsubscribe;
  const auto* q = req.get<model::StreamRequest>();
  if (q == nullptr) {
    return fail(
        pub, req, ep, model::RequestError::kInvalidArgument,
        fmt::format("{} wants a stream_request, not {}", kEndpointNames[ep], req.type_name()));
  }
  if (deps_.live == nullptr) {
    return fail(pub, req, ep, model::RequestError::kUnavailable,
                "live streaming is off (marketdata.live_sources is empty)");
  }
  // Starting a stream may call a source (IBKR's contract search for the conid): the worker's
  // job, so that the replay and other requests never wait on the network.
  if (deps_.ctx->simulated()) return stream_and_reply(pub, req, subscribe);
  if (!enqueue(req)) {
    fail(pub, req, ep, model::RequestError::kRateLimited,
         fmt::format("{} requests already queued, or the hub is stopping", kMaxQueuedFetches));
  }
}

void RequestServer::stream_and_reply(bus::Publisher& pub, const bus::Envelope& req,
                                     bool subscribe) {
  const Endpoint ep = subscribe ? kSubscribe : kUnsubscribe;
  const auto& q = *req.get<model::StreamRequest>();
  auto st = subscribe ? deps_.live->subscribe(q.source.view(), q.symbol)
                      : deps_.live->unsubscribe(q.source.view(), q.symbol);
  if (!st) return fail(pub, req, ep, error_of(st.error()), st.error().message);
  st->ts_event = deps_.ctx->clock().now();
  counts_[ep][kOk].fetch_add(1, std::memory_order_relaxed);
  (void)pub.reply(req, *st);
}

bool RequestServer::enqueue(const bus::Envelope& req) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= kMaxQueuedFetches) return false;
  queue_.push_back(req);
  cv_.notify_one();
  return true;
}

void RequestServer::add_metrics(net::PrometheusText& p) const {
  p.family("nautilus_marketdata_requests_total", "counter",
           "bus requests the hub answered, by endpoint and result (ok, failed)");
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    p.sample("nautilus_marketdata_requests_total",
             {{"endpoint", kEndpointNames[e]}, {"result", "ok"}},
             static_cast<double>(counts_[e][kOk].load(std::memory_order_relaxed)));
    p.sample("nautilus_marketdata_requests_total",
             {{"endpoint", kEndpointNames[e]}, {"result", "failed"}},
             static_cast<double>(counts_[e][kFailed].load(std::memory_order_relaxed)));
  }
}

}  // namespace nautilus::marketdata
