// The factor engine's glue: the universe feed's histories in, the styles of every new date
// (panel.hpp), factor_calculation and factor_exposures out, REST. Everything runs on the
// engine's thread (the feed calls on_dates there) except REST, which reads under `mu_`.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <deque>
#include <mutex>

#include "nautilus/engines/factor/engine.hpp"
#include "nautilus/engines/factor/panel.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "nautilus/universe_feed/universe_feed.hpp"

namespace nautilus::factor {
namespace {

namespace json = boost::json;

// The REST view of one date's calculation.
struct Calculation {
  std::string date;
  std::size_t symbols = 0;
  std::array<StyleSummary, kStyles> summary;
};
constexpr std::size_t kKeptCalculations = 5000;  // about 20 years of dates

class FactorEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    model_name_ = cfg.text("model");
    auto name = model::Name::create(model_name_);
    if (!name) return core::fail(core::ErrorCode::kInvalidArgument, "factor.model: too long");
    wire_model_ = *name;
    config_.momentum_window = static_cast<int>(cfg.integer("momentum_window"));
    config_.momentum_skip = static_cast<int>(cfg.integer("momentum_skip"));
    config_.volatility_window = static_cast<int>(cfg.integer("volatility_window"));
    config_.liquidity_window = static_cast<int>(cfg.integer("liquidity_window"));
    config_.winsor = cfg.number("winsor");
    if (config_.momentum_skip >= config_.momentum_window) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("factor.momentum_skip ({}) must be below momentum_window ({})",
                                    config_.momentum_skip, config_.momentum_window));
    }
    for (const auto n : kStyleNames) wire_styles_.push_back(*model::Name::create(n));
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    auto topic = ctx.bus().topic(fmt::format("factor.calculation.{}", model_name_));
    if (!topic) return std::unexpected(topic.error());
    calculation_topic_.emplace(std::move(*topic));
    feed_.emplace(universe_feed::feed_options(cfg, "factor"),
                  [this](bool warmup) { on_dates(warmup); });
    return feed_->start(ctx);
  }

  void begin() override { feed_->begin(); }
  void drain() override { feed_->drain(); }
  void stop() override { feed_->stop(); }

  void add_routes(net::Router& r) override {
    r.get("/factor/exposures", [this](const net::Request&) { return exposures_json({}); });
    r.get("/factor/exposures/{symbol}",
          [this](const net::Request& q) { return exposures_json(q.param("symbol")); });
    r.get("/factor/calculation", [this](const net::Request& q) { return calculation_json(q); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    p.family("nautilus_factor_dates_total", "counter", "dates whose exposures were computed");
    p.sample("nautilus_factor_dates_total", {{"engine", "factor"}},
             static_cast<double>(dates_.load()));
    feed_->add_metrics(p);
  }

  void add_health_fields(json::object& out) const override {
    feed_->add_health_fields(out);
    out["dates"] = dates_.load();
    std::lock_guard lock(mu_);
    out["last_date"] = latest_date_.empty() ? json::value() : json::value(latest_date_);
  }

  engine::Health health() const override { return feed_->health(); }

 private:
  void on_dates(bool warmup) {
    auto dates =
        exposures_by_date(feed_->histories(), config_, [this] { return feed_->draining(); });
    for (std::size_t k = 0; k < dates.size(); ++k) {
      if (feed_->draining()) return;
      const auto& d = dates[k];
      publish_calculation(d);
      // Exposures of every symbol: for the history's last date, and for each live date.
      if (!warmup || k + 1 == dates.size()) publish_exposures(d);
    }
  }

  void publish_calculation(const DateExposures& d) {
    model::FactorCalculation m{.model = wire_model_,
                               .ts_event = d.ts,
                               .symbols = static_cast<std::uint32_t>(d.symbols.size()),
                               .names = wire_styles_};
    for (const auto& s : d.cross.summary) {
      m.counts.push_back(static_cast<std::uint32_t>(s.count));
      m.raw_mean.push_back(s.count > 0 ? s.mean : std::nan(""));
      m.raw_sd.push_back(s.count > 1 ? s.sd : std::nan(""));
      m.clip_low.push_back(s.count > 0 ? s.clip_low : std::nan(""));
      m.clip_high.push_back(s.count > 0 ? s.clip_high : std::nan(""));
    }
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish(*calculation_topic_, std::move(m), {.ts_event = d.ts});
    ++dates_;
    std::lock_guard lock(mu_);
    calculations_.push_back(
        {.date = d.date, .symbols = d.symbols.size(), .summary = d.cross.summary});
    if (calculations_.size() > kKeptCalculations) calculations_.pop_front();
  }

  void publish_exposures(const DateExposures& d) {
    for (std::size_t i = 0; i < d.symbols.size(); ++i) {
      auto sym = core::Symbol::create(d.symbols[i]);
      if (!sym) continue;
      const auto& z = d.cross.exposures[i];
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)publisher_->publish(fmt::format("factor.update.{}", d.symbols[i]),
                                model::FactorExposures{.symbol = *sym,
                                                       .ts_event = d.ts,
                                                       .names = wire_styles_,
                                                       .values = {z.begin(), z.end()}},
                                {.ts_event = d.ts});
    }
    std::lock_guard lock(mu_);
    latest_date_ = d.date;
    latest_.clear();
    for (std::size_t i = 0; i < d.symbols.size(); ++i) {
      latest_.emplace_back(std::string(d.symbols[i]), d.cross.exposures[i], d.raw[i]);
    }
  }

  net::Response exposures_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    json::object symbols;
    for (const auto& [name, z, raw] : latest_) {
      if (!symbol.empty() && name != symbol) continue;
      json::object exposures;
      json::object raws;
      for (std::size_t j = 0; j < kStyles; ++j) {
        exposures[kStyleNames[j]] = z[j];  // NaN (undefined) is written as null
        raws[kStyleNames[j]] = raw[j];
      }
      symbols[name] = json::object{{"exposures", std::move(exposures)}, {"raw", std::move(raws)}};
    }
    if (!symbol.empty() && symbols.empty()) {
      return net::Response::error(404, fmt::format("no exposures for symbol '{}'", symbol));
    }
    json::array styles;
    for (const auto n : kStyleNames) styles.emplace_back(n);
    return net::Response::json(
        json::object{{"model", model_name_},
                     {"state", universe_feed::state_name(feed_->state())},
                     {"date", latest_date_.empty() ? json::value() : json::value(latest_date_)},
                     {"styles", std::move(styles)},
                     {"symbols", std::move(symbols)}});
  }

  net::Response calculation_json(const net::Request& q) const {
    const auto counted = q.query_count("limit", 20, kKeptCalculations);
    if (!counted) return net::Response::error(400, counted.error().message);
    const std::size_t limit = *counted;
    std::lock_guard lock(mu_);
    json::array dates;
    const std::size_t first = calculations_.size() > limit ? calculations_.size() - limit : 0;
    for (std::size_t k = first; k < calculations_.size(); ++k) {
      const auto& c = calculations_[k];
      json::object styles;
      for (std::size_t j = 0; j < kStyles; ++j) {
        const auto& s = c.summary[j];
        styles[kStyleNames[j]] = json::object{{"count", s.count},
                                              {"raw_mean", s.mean},
                                              {"raw_sd", s.sd},
                                              {"clip_low", s.clip_low},
                                              {"clip_high", s.clip_high}};
      }
      dates.push_back(
          json::object{{"date", c.date}, {"symbols", c.symbols}, {"styles", std::move(styles)}});
    }
    return net::Response::json(json::object{{"model", model_name_}, {"dates", std::move(dates)}});
  }

  const engine::EngineInfo& info_ = engine_info();
  std::string model_name_;
  model::Name wire_model_;
  StyleConfig config_;
  std::vector<model::Name> wire_styles_;
  std::optional<bus::Publisher> publisher_;
  std::optional<bus::TopicHandle> calculation_topic_;
  std::optional<universe_feed::UniverseFeed> feed_;

  // Read by REST.
  mutable std::mutex mu_;
  std::string latest_date_;
  std::vector<std::tuple<std::string, Styles, Styles>> latest_;  // symbol, exposures, raw
  std::deque<Calculation> calculations_;
  std::atomic<std::uint64_t> dates_{0};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "factor",
      .default_port = 8300,
      .subscribes = {"market_data.*.bar"},
      .publishes = {"factor.calculation.*", "factor.update.*"},
      .description =
          "Style exposures per symbol and date (momentum, value, size, volatility, "
          "liquidity), winsorized and standardized across the hub's universe",
      .settings = universe_feed::with_feed_settings({
          Setting::text("model", "styles",
                        "Name of the exposure set: the topic is factor.calculation.<model>"),
          Setting::integer("momentum_window", 252, 2, 5000,
                           "Momentum: returns over this many days ..."),
          Setting::integer("momentum_skip", 21, 0, 4999, "... but the last this many"),
          Setting::integer("volatility_window", 63, 2, 5000,
                           "Volatility: daily returns in the standard deviation"),
          Setting::integer("liquidity_window", 21, 1, 5000,
                           "Liquidity: days of turnover (volume / shares outstanding) summed"),
          Setting::number("winsor", 0.01, 0, 0.49,
                          "Raw values clipped to this percentile and its complement before "
                          "standardizing (0: off)"),
      })};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<FactorEngine>(); }

}  // namespace nautilus::factor
