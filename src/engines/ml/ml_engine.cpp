// The ml engine's glue: feature updates in, per-symbol walk-forward models (or one XGBoost
// model), predictions and training reports out, REST. The models are walk_forward.hpp's and
// xgboost_model.hpp's. Everything runs on the engine's thread; REST reads under `mu_`.
#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/ml/engine.hpp"
#include "nautilus/engines/ml/walk_forward.hpp"
#include "nautilus/engines/ml/xgboost_model.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::ml {
namespace {

namespace json = boost::json;

std::optional<std::string> check_kind(std::string_view v) {
  if (v == "ridge" || v == "logistic" || v == "xgboost") return std::nullopt;
  return fmt::format("'{}' is not ridge, logistic or xgboost", v);
}

struct Pending {
  std::uint64_t sample = 0;
  std::size_t bar = 0;  // the symbol's bar count when it was taken
};

struct SymbolModel {
  std::optional<WalkForward> wf;
  std::size_t bars = 0;
  core::UnixNanos last_ts = 0;
  std::deque<double> log_returns;  // the latest `horizon`
  std::deque<Pending> pending;     // samples waiting for their forward return
  std::size_t trainings_seen = 0;
  std::optional<model::Prediction> last;
};

class MlEngine final : public engine::Engine {
 public:
  const engine::EngineInfo& info() const override { return info_; }

  core::Result<void> start(engine::EngineContext& ctx) override {
    const auto& cfg = ctx.settings();
    model_name_ = cfg.text("model");
    auto name = model::Name::create(model_name_);
    if (!name) return core::fail(core::ErrorCode::kInvalidArgument, "ml.model: too long");
    wire_model_ = *name;
    const std::string& kind = cfg.text("kind");
    kind_ = kind == "logistic"  ? model::ModelKind::kLogistic
            : kind == "xgboost" ? model::ModelKind::kXgboost
                                : model::ModelKind::kRidge;
    horizon_ = static_cast<std::size_t>(cfg.integer("horizon"));
    features_ = cfg.list("features");
    if (features_.empty()) {
      return core::fail(core::ErrorCode::kInvalidArgument, "ml.features: name at least one");
    }
    config_ = {.kind = kind_ == model::ModelKind::kLogistic ? Kind::kLogistic : Kind::kRidge,
               .alpha = cfg.number("alpha"),
               .c = cfg.number("c"),
               .window = static_cast<std::size_t>(cfg.integer("window")),
               .min_train = static_cast<std::size_t>(cfg.integer("min_train")),
               .retrain_every = static_cast<std::size_t>(cfg.integer("retrain_every"))};
    if (kind_ == model::ModelKind::kXgboost) {
      auto m = XgbModel::load(cfg.text("model_file"));
      if (!m) {
        return core::fail(m.error().code, fmt::format("ml.model_file: {}", m.error().message));
      }
      if (m->features() != features_.size()) {
        return core::fail(core::ErrorCode::kInvalidArgument,
                          fmt::format("ml.model_file has {} features, ml.features names {}",
                                      m->features(), features_.size()));
      }
      xgb_.emplace(std::move(*m));
    }
    auto pub = ctx.publisher();
    if (!pub) return std::unexpected(pub.error());
    publisher_.emplace(std::move(*pub));
    auto sub = ctx.subscribe(
        "feature.update.*", [this](const bus::Envelope& e) { on_features(e); },
        bus::OverflowPolicy::kBlock);
    if (!sub) return std::unexpected(sub.error());
    return {};
  }

  void add_routes(net::Router& r) override {
    r.get("/ml/models", [this](const net::Request&) { return models_json(); });
    r.get("/ml/predictions/{symbol}",
          [this](const net::Request& q) { return prediction_json(q.param("symbol")); });
  }

  void add_metrics(net::PrometheusText& p) const override {
    const net::PrometheusText::Labels l = {{"engine", "ml"}};
    p.family("nautilus_ml_predictions_total", "counter", "predictions published");
    p.sample("nautilus_ml_predictions_total", l, static_cast<double>(predictions_.load()));
    p.family("nautilus_ml_trainings_total", "counter", "walk-forward trainings");
    p.sample("nautilus_ml_trainings_total", l, static_cast<double>(trainings_.load()));
    p.family("nautilus_ml_updates_rejected_total", "counter",
             "feature updates ignored: without one of ml.features, or out of time order");
    p.sample("nautilus_ml_updates_rejected_total", l, static_cast<double>(rejected_.count()));
  }

  void add_health_fields(json::object& out) const override {
    out["kind"] = kind_name();
    out["predictions"] = predictions_.load();
    out["trainings"] = trainings_.load();
  }

 private:
  [[nodiscard]] std::string_view kind_name() const {
    return kind_ == model::ModelKind::kXgboost    ? "xgboost"
           : kind_ == model::ModelKind::kLogistic ? "logistic"
                                                  : "ridge";
  }

  void on_features(const bus::Envelope& e) {
    const auto* u = e.get<model::FeatureUpdate>();
    if (u == nullptr) return;
    // The chosen features, by name, and the bar's log return for the targets.
    std::vector<double> x(features_.size(), std::nan(""));
    double log_return = std::nan("");
    for (std::size_t i = 0; i < u->names.size() && i < u->values.size(); ++i) {
      const auto n = u->names[i].view();
      if (n == "log_return") log_return = u->values[i];
      for (std::size_t j = 0; j < features_.size(); ++j) {
        if (features_[j] == n) x[j] = u->values[i];
      }
    }
    const std::string sym(u->symbol.value());
    SymbolModel& s = symbols_[sym];
    // A bar counts once, in time order: a late or repeated update would shift every target.
    if (s.bars > 0 && u->ts_event <= s.last_ts) {
      rejected_.add("a feature update not after the symbol's previous one", sym);
      return;
    }
    s.last_ts = u->ts_event;
    ++s.bars;
    // Targets: a sample taken at bar k gets the sum of the log returns of bars k+1 .. k+horizon,
    // known at bar k + horizon, which is this one for the oldest pending sample.
    s.log_returns.push_back(log_return);  // NaN when the update has none
    if (s.log_returns.size() > horizon_) s.log_returns.pop_front();
    const std::size_t bar = s.bars - 1;
    while (!s.pending.empty() && s.pending.front().bar + horizon_ <= bar) {
      const Pending p = s.pending.front();
      s.pending.pop_front();
      double forward = 0;
      for (const double r : s.log_returns) forward += r;
      if (p.bar + horizon_ != bar || !std::isfinite(forward)) {  // a return is missing
        s.wf->discard(p.sample);
        continue;
      }
      const double target = config_.kind == Kind::kLogistic ? (forward > 0 ? 1.0 : 0.0) : forward;
      (void)s.wf->resolve(p.sample, target, u->ts_event);
    }
    if (!std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); })) {
      rejected_.add("a feature update without every one of ml.features (warming up?)", sym);
      return;
    }
    std::optional<double> value;
    std::optional<double> probability;
    if (xgb_) {
      std::vector<float> row(x.begin(), x.end());
      auto y = xgb_->predict(row);
      if (!y) {
        rejected_.add(y.error().message, sym);
        return;
      }
      value = *y;
    } else {
      if (!s.wf) s.wf.emplace(config_);
      auto o = s.wf->observe(u->ts_event, x);
      if (!o) {
        rejected_.add(o.error().message, sym);
        return;
      }
      s.pending.push_back({o->sample, s.bars - 1});
      value = o->value;
      probability = o->probability;
      if (s.wf->trainings() > s.trainings_seen) {
        s.trainings_seen = s.wf->trainings();
        ++trainings_;
        publish_training(*s.wf, u->ts_event);
      }
    }
    if (!value) return;  // no model yet
    model::Prediction p{.symbol = u->symbol,
                        .model = wire_model_,
                        .kind = kind_,
                        .horizon_s = static_cast<std::uint32_t>(horizon_ * u->interval_s),
                        .value = *value,
                        .probability = probability.value_or(std::nan("")),
                        .ts_event = u->ts_event};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish(fmt::format("ml.prediction.{}", sym), p, {.ts_event = u->ts_event});
    ++predictions_;
    std::lock_guard lock(mu_);
    // An offline model has no out-of-sample record here: its metrics are NaN (null), not 0.
    last_[sym] = {p, s.wf ? s.wf->metrics() : score({}, Kind::kRidge),
                  s.wf ? s.wf->trainings() : 0};
  }

  void publish_training(const WalkForward& wf, core::UnixNanos now) {
    const Metrics m = wf.metrics();
    model::ModelTrained t{.model = wire_model_,
                          .kind = kind_,
                          .samples = wf.trained_samples(),
                          .r2 = m.r2,
                          .auc = m.auc,
                          .log_loss = m.log_loss,
                          .hit_rate = m.hit_rate,
                          .train_start = wf.trained_from(),
                          .train_end = wf.trained_to(),
                          .ts_event = now};
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set in start()
    (void)publisher_->publish(fmt::format("model.training.complete.{}", model_name_), t,
                              {.ts_event = now});
  }

  net::Response models_json() const {
    std::lock_guard lock(mu_);
    json::object symbols;
    for (const auto& [sym, v] : last_) {
      symbols[sym] =
          json::object{{"trainings", v.trainings}, {"out_of_sample", metrics_json(v.metrics)}};
    }
    json::array features;
    for (const auto& f : features_) features.emplace_back(f);
    return net::Response::json(json::object{{"model", model_name_},
                                            {"kind", kind_name()},
                                            {"horizon_bars", horizon_},
                                            {"features", std::move(features)},
                                            {"symbols", std::move(symbols)}});
  }

  static json::object metrics_json(const Metrics& m) {
    return {{"predictions", m.predictions},
            {"r2", m.r2},
            {"auc", m.auc},
            {"log_loss", m.log_loss},
            {"hit_rate", m.hit_rate}};
  }

  net::Response prediction_json(std::string_view symbol) const {
    std::lock_guard lock(mu_);
    const auto it = last_.find(std::string(symbol));
    if (it == last_.end()) {
      return net::Response::error(404, fmt::format("no prediction yet for symbol '{}'", symbol));
    }
    const auto& p = it->second.prediction;
    return net::Response::json(json::object{{"symbol", symbol},
                                            {"model", model_name_},
                                            {"value", p.value},
                                            {"probability", p.probability},
                                            {"horizon_s", p.horizon_s},
                                            {"ts_event", p.ts_event},
                                            {"out_of_sample", metrics_json(it->second.metrics)}});
  }

  struct Last {
    model::Prediction prediction;
    Metrics metrics;
    std::size_t trainings = 0;
  };

  const engine::EngineInfo& info_ = engine_info();
  std::string model_name_;
  model::Name wire_model_;
  model::ModelKind kind_ = model::ModelKind::kRidge;
  std::size_t horizon_ = 5;
  std::vector<std::string> features_;
  WalkForwardConfig config_;
  std::optional<XgbModel> xgb_;
  std::optional<bus::Publisher> publisher_;
  std::unordered_map<std::string, SymbolModel> symbols_;  // engine thread

  mutable std::mutex mu_;
  std::map<std::string, Last> last_;
  std::atomic<std::uint64_t> predictions_{0};
  std::atomic<std::uint64_t> trainings_{0};
  engine::Rejections rejected_{"ml"};
};

}  // namespace

const engine::EngineInfo& engine_info() {
  using engine::Setting;
  static const engine::EngineInfo info{
      .name = "ml",
      .default_port = 8400,
      .subscribes = {"feature.update.*"},
      .publishes = {"ml.prediction.*", "model.training.complete.*"},
      .description =
          "Walk-forward ridge / logistic regression of forward returns on feature "
          "vectors, or an offline XGBoost model, per symbol",
      .settings = {
          Setting::text("model", "returns", "Model name: model.training.complete.<model>"),
          Setting::text("kind", "ridge", "ridge, logistic (up or down) or xgboost (model_file)",
                        &check_kind),
          Setting::text("model_file", "", "XGBoost model (.json or .ubj), for kind xgboost"),
          Setting::list("features", {"rsi14", "log_return", "realized_vol"},
                        "Feature names from feature.update.*, in the model's order"),
          Setting::integer("horizon", 5, 1, 10000,
                           "Bars ahead: the target is the sum of the next horizon log returns"),
          Setting::integer("window", 500, 2, 1000000, "Known samples trained on"),
          Setting::integer("min_train", 100, 2, 1000000, "Known samples before a first model"),
          Setting::integer("retrain_every", 50, 1, 1000000, "Known samples between trainings"),
          Setting::number("alpha", 1.0, 0, {}, "Ridge penalty"),
          Setting::number("c", 1.0, 1e-12, {}, "Logistic inverse penalty (scikit-learn's C)"),
      }};
  return info;
}

std::unique_ptr<engine::Engine> make_engine() { return std::make_unique<MlEngine>(); }

}  // namespace nautilus::ml
