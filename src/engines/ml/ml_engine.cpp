// The ml engine's glue: feature updates in, joined with the latest VPIN and factor exposures
// where ml.features names them; per-symbol walk-forward forecasters (or one XGBoost model);
// predictions and training reports out; REST. The models are forecaster.hpp's and
// xgboost_model.hpp's. Everything runs on the engine's thread; REST reads under `mu_`.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nautilus/engine/rejections.hpp"
#include "nautilus/engines/ml/as_of.hpp"
#include "nautilus/engines/ml/engine.hpp"
#include "nautilus/engines/ml/forecaster.hpp"
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

// Where a feature comes from: the bar's feature update, or the latest value another engine
// published for the symbol (joined as of the bar's time: as_of.hpp).
enum class Source : std::uint8_t { kFeatures, kVpin, kFactor, kToraniko };

struct Input {
  Source source = Source::kFeatures;
  std::string name;  // within its message: "rsi14", "cdf", "momentum", "mom"
};

// "vpin", "vpin_cdf": vpin.calculation.*; "factor_<style>": factor.update.*;
// "toraniko_<style>": factor.model.*; anything else: feature.update.*.
Input parse_input(const std::string& feature) {
  if (feature == "vpin") return {Source::kVpin, "vpin"};
  if (feature == "vpin_cdf") return {Source::kVpin, "cdf"};
  if (feature.starts_with("factor_")) return {Source::kFactor, feature.substr(7)};
  if (feature.starts_with("toraniko_")) return {Source::kToraniko, feature.substr(9)};
  return {Source::kFeatures, feature};
}

struct SymbolModel {
  std::optional<Forecaster> forecaster;  // ridge, logistic
  std::size_t bars = 0;                  // xgboost: time order
  core::UnixNanos last_ts = 0;
  std::vector<AsOf> joined;  // one per feature; used for those from other engines
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
    for (const auto& f : features_) inputs_.push_back(parse_input(f));
    const auto uses = [this](Source s) {
      return std::any_of(inputs_.begin(), inputs_.end(),
                         [s](const Input& i) { return i.source == s; });
    };
    // Joined inputs first: a bar's update should find what was published before it.
    const std::pair<Source, const char*> joined[] = {{Source::kVpin, "vpin.calculation.*"},
                                                     {Source::kFactor, "factor.update.*"},
                                                     {Source::kToraniko, "factor.model.*"}};
    for (const auto& [source, pattern] : joined) {
      if (!uses(source)) continue;
      auto sub = ctx.subscribe(
          pattern, [this, source](const bus::Envelope& e) { on_joined(e, source); },
          bus::OverflowPolicy::kBlock);
      if (!sub) return std::unexpected(sub.error());
    }
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

  SymbolModel& symbol(std::string_view sym) {
    auto it = symbols_.find(std::string(sym));
    if (it == symbols_.end()) {
      it = symbols_.emplace(std::string(sym), SymbolModel{}).first;
      it->second.joined.resize(features_.size());
    }
    return it->second;
  }

  // Another engine's value for a symbol, known from the later of its event and publish times.
  void on_joined(const bus::Envelope& e, Source source) {
    const core::UnixNanos known = std::max(e.ts_event, e.ts_publish);
    if (source == Source::kVpin) {
      const auto* u = e.get<model::VpinUpdate>();
      if (u == nullptr) return;
      SymbolModel& s = symbol(u->symbol.value());
      for (std::size_t j = 0; j < inputs_.size(); ++j) {
        if (inputs_[j].source != source) continue;
        s.joined[j].add(known, inputs_[j].name == "vpin" ? u->vpin : u->cdf);
      }
      return;
    }
    const auto* u = e.get<model::FactorExposures>();
    if (u == nullptr) return;
    SymbolModel& s = symbol(u->symbol.value());
    for (std::size_t j = 0; j < inputs_.size(); ++j) {
      if (inputs_[j].source != source) continue;
      for (std::size_t i = 0; i < u->names.size() && i < u->values.size(); ++i) {
        if (u->names[i].view() == inputs_[j].name) s.joined[j].add(known, u->values[i]);
      }
    }
  }

  void on_features(const bus::Envelope& e) {
    const auto* u = e.get<model::FeatureUpdate>();
    if (u == nullptr) return;
    const std::string sym(u->symbol.value());
    SymbolModel& s = symbol(sym);
    // The chosen features by name (joined ones as of the bar), and the bar's log return for
    // the targets.
    std::vector<double> x(features_.size(), std::nan(""));
    double log_return = std::nan("");
    for (std::size_t i = 0; i < u->names.size() && i < u->values.size(); ++i) {
      const auto n = u->names[i].view();
      if (n == "log_return") log_return = u->values[i];
      for (std::size_t j = 0; j < inputs_.size(); ++j) {
        if (inputs_[j].source == Source::kFeatures && inputs_[j].name == n) x[j] = u->values[i];
      }
    }
    for (std::size_t j = 0; j < inputs_.size(); ++j) {
      if (inputs_[j].source != Source::kFeatures) x[j] = s.joined[j].at(u->ts_event);
    }
    std::optional<double> value;
    std::optional<double> probability;
    if (xgb_) {
      // A bar counts once, in time order, as for the walk-forward models.
      if (s.bars > 0 && u->ts_event <= s.last_ts) {
        rejected_.add("a feature update not after the symbol's previous one", sym);
        return;
      }
      s.last_ts = u->ts_event;
      ++s.bars;
      if (!std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); })) {
        rejected_.add("a feature update without every one of ml.features (warming up?)", sym);
        return;
      }
      std::vector<float> row(x.begin(), x.end());
      auto y = xgb_->predict(row);
      if (!y) {
        rejected_.add(y.error().message, sym);
        return;
      }
      value = *y;
    } else {
      if (!s.forecaster) s.forecaster.emplace(ForecasterConfig{config_, horizon_});
      auto f = s.forecaster->on_bar(u->ts_event, x, log_return);
      if (!f) {
        rejected_.add(f.error().code == core::ErrorCode::kOutOfRange
                          ? "a feature update not after the symbol's previous one"
                          : f.error().message,
                      sym);
        return;
      }
      if (!f->complete) {
        rejected_.add("a feature update without every one of ml.features (warming up?)", sym);
        return;
      }
      value = f->value;
      probability = f->probability;
      if (f->retrained) {
        ++trainings_;
        publish_training(s.forecaster->model(), u->ts_event);
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
    const WalkForward* wf = s.forecaster ? &s.forecaster->model() : nullptr;
    last_[sym] = {p, wf ? wf->metrics() : score({}, Kind::kRidge), wf ? wf->trainings() : 0};
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
  std::vector<Input> inputs_;  // features_, parsed
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
      .subscribes = {"feature.update.*", "vpin.calculation.*", "factor.update.*", "factor.model.*"},
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
                        "Model inputs in order: names from feature.update.*, or vpin, "
                        "vpin_cdf (vpin.calculation.*), factor_<style> (factor.update.*), "
                        "toraniko_<style> (factor.model.*), as of the bar"),
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
