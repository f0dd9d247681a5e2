// The toraniko engine's glue: the universe feed's histories in, FactorModel, factor_returns and
// factor_exposures out, REST. Fetching and keeping the data up to date is the universe feed's
// (universe_feed.hpp); the arithmetic is factor_model.hpp's and model.hpp's.
//
// Everything here runs on the engine's thread (the feed calls on_dates there), except REST,
// which reads under `mu_`.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "hub_panel.hpp"
#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/toraniko/engine.hpp"
#include "nautilus/engines/toraniko/factor_model.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "nautilus/universe_feed/universe_feed.hpp"

namespace nautilus::toraniko {
namespace {

namespace json = boost::json;

struct FittedDate {
  std::string date;
  core::UnixNanos ts = 0;
  std::size_t assets = 0;
  double r_squared = 0;
  std::vector<double> returns;
};

class ToranikoEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    model_name_ = cfg.text("model");
    auto name = model::Name::create(model_name_);
    if (!name) return core::fail(core::ErrorCode::kInvalidArgument, "toraniko.model: too long");
    wire_model_ = *name;
    options_.winsor = cfg.number("winsor");
    if (*options_.winsor == 0) options_.winsor.reset();
    options_.residualize_styles = cfg.boolean("residualize_styles");
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    auto topic = ctx.bus().topic(fmt::format("factor.return.{}", model_name_));
    if (!topic) return std::unexpected(topic.error());
    returns_topic_.emplace(std::move(*topic));
    feed_.emplace(universe_feed::feed_options(cfg, "toraniko"),
                  [this](bool warmup) { on_dates(warmup); });
    return feed_->start(ctx);
  }

  void begin() override { feed_->begin(); }
  void drain() override { feed_->drain(); }
  void stop() override { feed_->stop(); }

  void add_routes(net::Router& r) override {
    r.get("/toraniko/factor_returns",
          [this](const net::Request& q) { return factor_returns_json(q); });
    r.get("/toraniko/exposures", [this](const net::Request&) { return exposures_json({}); });
    r.get("/toraniko/exposures/{symbol}",
          [this](const net::Request& q) { return exposures_json(q.param("symbol")); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    p.family("nautilus_toraniko_dates_total", "counter",
             "dates the model saw: fitted, skipped (too few assets with every input), or "
             "refused (a bad value)");
    for (const auto& [outcome, n] : {std::pair{"fitted", &fitted_}, std::pair{"skipped", &skipped_},
                                     std::pair{"refused", &refused_}}) {
      p.sample("nautilus_toraniko_dates_total", {{"engine", "toraniko"}, {"outcome", outcome}},
               static_cast<double>(n->load()));
    }
    feed_->add_metrics(p);
  }

  void add_health_fields(json::object& out) const override {
    feed_->add_health_fields(out);
    out["dates_fitted"] = fitted_.load();
    std::lock_guard lock(mu_);
    out["last_date"] =
        fitted_dates_.empty() ? json::value() : json::value(fitted_dates_.back().date);
  }

  engine::Health health() const override { return feed_->health(); }

 private:
  // New bars in the feed's histories: fit every date not yet fitted.
  void on_dates(bool warmup) {
    auto& histories = feed_->histories();
    if (!model_) {
      std::set<std::string> names;
      for (const auto& h : histories) names.insert(h.sector);
      std::vector<std::string> sorted(names.begin(), names.end());  // toraniko sorts them
      for (std::size_t j = 0; j < sorted.size(); ++j) {
        sector_index_.emplace(sorted[j], static_cast<std::uint16_t>(j));
      }
      model_.emplace(FactorModelConfig{.sectors = sorted, .model = options_});
      std::lock_guard lock(mu_);
      factor_names_ = model_->factor_names();
      style_names_ = model_->style_names();
      for (const auto& n : factor_names_) {
        // Sector names can be longer than a wire Name: cut at its 23 bytes.
        wire_names_.push_back(*model::Name::create(n.substr(0, model::Name::kCapacity)));
      }
    }
    std::size_t unknown = 0;
    auto dates = build_rows(histories, sector_index_, &unknown);
    bool any = false;
    for (auto& d : dates) {
      if (feed_->draining()) return;  // stopping: the rest of the history is not wanted
      if (!model_->last_date().empty() && d.date <= model_->last_date()) continue;
      auto fit = model_->add_date(d.date, d.rows);
      if (!fit) {
        ++refused_;
        refusals_.add(fit.error().message, d.date);
        continue;
      }
      if (!*fit) {
        ++skipped_;
        continue;
      }
      any = true;
      publish_date(d, **fit);
    }
    // The exposures of the next return: after the history, and after each live date.
    if (any || !warmup) publish_latest_exposures();
  }

  void publish_date(const PanelDate& d, const DatedFit& f) {
    FittedDate row{.date = d.date,
                   .ts = d.ts,
                   .assets = f.assets,
                   .r_squared = f.fit.r_squared,
                   .returns = f.fit.factor_returns};
    {
      std::lock_guard lock(mu_);
      fitted_dates_.push_back(row);
      latest_residuals_.clear();
      for (std::size_t i = 0; i < f.symbols.size(); ++i) {
        latest_residuals_[std::string(f.symbols[i])] = f.fit.residuals[i];
      }
    }
    ++fitted_;
    model::FactorReturns m{.model = wire_model_,
                           .ts_event = d.ts,
                           .assets = static_cast<std::uint32_t>(f.assets),
                           .r_squared = f.fit.r_squared,
                           .names = wire_names_,
                           .returns = f.fit.factor_returns};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish(*returns_topic_, std::move(m), {.ts_event = d.ts});
  }

  void publish_latest_exposures() {
    auto latest = model_->latest_exposures();
    std::vector<model::Name> names;
    for (const auto& s : model_->style_names()) names.push_back(*model::Name::create(s));
    const core::UnixNanos ts = fitted_dates_.empty() ? 0 : fitted_dates_.back().ts;
    for (const auto& e : latest) {
      auto sym = core::Symbol::create(e.symbol);
      if (!sym) continue;
      // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
      (void)publisher_->publish(
          fmt::format("factor.model.{}.{}", model_name_, e.symbol),
          model::FactorExposures{
              .symbol = *sym, .ts_event = ts, .names = names, .values = e.values},
          {.ts_event = ts});
    }
    std::lock_guard lock(mu_);
    latest_exposures_ = std::move(latest);
  }

  net::Response factor_returns_json(const net::Request& q) const {
    const std::string start = q.query_param("start").value_or("");
    const std::string end = q.query_param("end").value_or("9999");
    const auto counted = q.query_count("limit", 1000, 100000);
    if (!counted) return net::Response::error(400, counted.error().message);
    const std::size_t limit = *counted;
    std::lock_guard lock(mu_);
    json::array dates;
    std::size_t first = fitted_dates_.size();
    // The last `limit` dates within [start, end].
    while (first > 0 && dates.size() < limit) {
      const auto& d = fitted_dates_[first - 1];
      if (d.date < start) break;
      --first;
      if (d.date.substr(0, end.size()) > end) continue;
      json::object returns;
      for (std::size_t j = 0; j < d.returns.size() && j < factor_names_.size(); ++j) {
        returns[factor_names_[j]] = d.returns[j];
      }
      dates.push_back(json::object{{"date", d.date},
                                   {"assets", d.assets},
                                   {"r_squared", d.r_squared},
                                   {"returns", std::move(returns)}});
    }
    std::reverse(dates.begin(), dates.end());
    json::array names;
    for (const auto& n : factor_names_) names.emplace_back(n);
    return net::Response::json(json::object{{"model", model_name_},
                                            {"state", universe_feed::state_name(feed_->state())},
                                            {"factors", std::move(names)},
                                            {"dates", std::move(dates)}});
  }

  net::Response exposures_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    json::object symbols;
    for (const auto& e : latest_exposures_) {
      if (!symbol.empty() && e.symbol != symbol) continue;
      json::object values;
      for (std::size_t j = 0; j < e.values.size() && j < style_names_.size(); ++j) {
        values[style_names_[j]] = e.values[j];
      }
      const auto r = latest_residuals_.find(e.symbol);
      symbols[e.symbol] = json::object{
          {"exposures", std::move(values)},
          {"last_residual", r == latest_residuals_.end() ? json::value() : json::value(r->second)}};
    }
    if (!symbol.empty() && symbols.empty()) {
      return net::Response::error(404, fmt::format("no exposures for symbol '{}'", symbol));
    }
    return net::Response::json(json::object{
        {"model", model_name_},
        {"date", fitted_dates_.empty() ? json::value() : json::value(fitted_dates_.back().date)},
        {"symbols", std::move(symbols)}});
  }

  const engine::EngineInfo& info_ = engine_info();
  std::string model_name_;
  model::Name wire_model_;
  ModelOptions options_;
  std::optional<bus::Publisher> publisher_;
  std::optional<bus::TopicHandle> returns_topic_;
  std::optional<universe_feed::UniverseFeed> feed_;

  // Engine thread only.
  std::map<std::string, std::uint16_t> sector_index_;
  std::optional<FactorModel> model_;
  std::vector<model::Name> wire_names_;

  // Read by REST.
  mutable std::mutex mu_;
  std::vector<std::string> factor_names_;
  std::vector<std::string> style_names_;
  std::vector<FittedDate> fitted_dates_;
  std::vector<SymbolExposures> latest_exposures_;
  std::unordered_map<std::string, double> latest_residuals_;
  std::atomic<std::uint64_t> fitted_{0};
  std::atomic<std::uint64_t> skipped_{0};
  std::atomic<std::uint64_t> refused_{0};
  engine::Rejections refusals_{"toraniko"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "toraniko",
      .default_port = 8950,
      .subscribes = {"market_data.*.bar"},
      .publishes = {"factor.return.*", "factor.model.*"},
      .description =
          "The toraniko factor model (market, sectors, momentum/size/value) on the "
          "hub's universe: factor and residual returns per date",
      .settings = universe_feed::with_feed_settings({
          Setting::text("model", "toraniko",
                        "Model name: the topics are factor.return.<model> and "
                        "factor.model.<model>.<symbol>"),
          Setting::number("winsor", 0.05, 0, 0.49,
                          "Returns clipped to this percentile and its complement (0: off)"),
          Setting::boolean("residualize_styles", true,
                           "Fit the styles on the market + sector residuals (toraniko's "
                           "default)"),
      })};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<ToranikoEngine>(); }

}  // namespace nautilus::toraniko
