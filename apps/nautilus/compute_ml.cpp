// `nautilus compute ml`: the ml engine's per-symbol walk-forward forecasters (forecaster.hpp)
// over a table of feature rows, or an offline XGBoost model scoring them; one output row per
// input row, with the target each forecast had once it became known.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <unordered_map>

#include "commands.hpp"
#include "compute_output.hpp"
#include "nautilus/core/gz_lines.hpp"
#include "nautilus/core/json.hpp"
#include "nautilus/core/strings.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engines/ml/forecaster.hpp"
#include "nautilus/engines/ml/xgboost_model.hpp"

namespace nautilus::app {
namespace {

namespace json = boost::json;

struct Columns {
  std::vector<std::string> names;      // the header
  std::size_t ts = 0, symbol = 0;      // their indices
  std::optional<std::size_t> returns;  // --returns
  std::vector<std::size_t> features;   // --features, in order
  std::vector<std::string> feature_names;
};

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> cells;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    cells.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) return cells;
    start = comma + 1;
  }
}

core::Result<Columns> read_header(std::string_view header, const ComputeOptions& o) {
  Columns c;
  for (const auto cell : split(header)) c.names.emplace_back(core::trim(cell));
  const auto find = [&c](std::string_view n) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < c.names.size(); ++i) {
      if (c.names[i] == n) return i;
    }
    return std::nullopt;
  };
  const auto ts = find("ts");
  const auto symbol = find("symbol");
  if (!ts || !symbol) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}:1: the header needs ts and symbol columns", o.train));
  }
  c.ts = *ts;
  c.symbol = *symbol;
  c.returns = find(o.returns_column);
  c.feature_names = o.ml_features;
  if (c.feature_names.empty()) {  // every column but ts and symbol
    for (std::size_t i = 0; i < c.names.size(); ++i) {
      if (i != c.ts && i != c.symbol) c.feature_names.push_back(c.names[i]);
    }
  }
  if (c.feature_names.empty()) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}:1: no feature columns besides ts and symbol", o.train));
  }
  for (const auto& f : c.feature_names) {
    const auto i = find(f);
    if (!i) {
      return core::fail(
          core::ErrorCode::kParse,
          fmt::format("{}:1: --features names '{}', not a column of the header", o.train, f));
    }
    c.features.push_back(*i);
  }
  return c;
}

// An empty cell (or NA, NaN) is a missing value; anything else must be a finite number.
core::Result<double> cell_number(std::string_view cell, const ComputeOptions& o, std::size_t line,
                                 const std::string& column) {
  cell = core::trim(cell);
  if (cell.empty() || cell == "NA" || cell == "NaN" || cell == "nan") return std::nan("");
  double v = 0;
  const auto r = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (r.ec != std::errc{} || r.ptr != cell.data() + cell.size() || !std::isfinite(v)) {
    return core::fail(core::ErrorCode::kParse, fmt::format("{}:{}: column {}: '{}' is not a number",
                                                           o.train, line, column, cell));
  }
  return v;
}

struct Row {
  std::string ts;  // as written
  std::string symbol;
  double value = std::nan("");
  double probability = std::nan("");
  double target = std::nan("");
};

struct SymbolRun {
  std::optional<ml::Forecaster> forecaster;
  core::UnixNanos last_ts = 0;  // xgboost: time order
  std::size_t rows = 0;
  std::vector<std::size_t> row_of;  // bar -> row in the output
};

json::object symbol_report(const SymbolRun& s, const Columns& c) {
  json::object o{{"rows", s.rows}};
  if (!s.forecaster) return o;
  const ml::WalkForward& wf = s.forecaster->model();
  const ml::Metrics m = wf.metrics();
  o["trainings"] = wf.trainings();
  o["out_of_sample"] = json::object{{"predictions", m.predictions},
                                    {"r2", m.r2},
                                    {"auc", m.auc},
                                    {"log_loss", m.log_loss},
                                    {"hit_rate", m.hit_rate}};
  if (const auto& model = wf.model()) {
    json::object weights;
    for (std::size_t j = 0; j < c.feature_names.size() && j < model->weights.size(); ++j) {
      weights[c.feature_names[j]] = model->weights[j];
    }
    o["model"] = json::object{{"intercept", model->intercept},
                              {"weights", std::move(weights)},
                              {"samples", wf.trained_samples()},
                              {"train_start", core::format_timestamp(wf.trained_from())},
                              {"train_end", core::format_timestamp(wf.trained_to())}};
  }
  return o;
}

core::Result<void> compute(const ComputeOptions& o) {
  std::optional<ml::XgbModel> xgb;
  ml::Kind kind = ml::Kind::kRidge;
  if (o.model.starts_with("xgboost:")) {
    NAUTILUS_TRY(m, ml::XgbModel::load(o.model.substr(8)));
    xgb.emplace(std::move(m));
  } else if (o.model == "logistic") {
    kind = ml::Kind::kLogistic;
  } else if (o.model != "ridge") {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("--model '{}': want ridge, logistic or xgboost:FILE", o.model));
  }
  NAUTILUS_TRY(in, core::GzLines::open(o.train));
  NAUTILUS_TRY(header, in.next());
  if (!header) return core::fail(core::ErrorCode::kParse, fmt::format("{}: empty", o.train));
  NAUTILUS_TRY(c, read_header(*header, o));
  if (xgb && xgb->features() != c.features.size()) {
    return core::fail(
        core::ErrorCode::kInvalidArgument,
        fmt::format("{} has {} features, {} are given ({})", o.model.substr(8), xgb->features(),
                    c.features.size(), fmt::join(c.feature_names, ",")));
  }
  if (!xgb && !c.returns) {
    return core::fail(core::ErrorCode::kParse,
                      fmt::format("{}:1: no '{}' column for the targets (--returns names it)",
                                  o.train, o.returns_column));
  }
  const ml::ForecasterConfig config{.model = {.kind = kind,
                                              .alpha = o.alpha,
                                              .c = o.c,
                                              .window = o.ml_window,
                                              .min_train = o.min_train,
                                              .retrain_every = o.retrain_every},
                                    .horizon = o.horizon};
  std::vector<Row> rows;
  std::map<std::string, SymbolRun> symbols;
  std::vector<double> x(c.features.size());
  std::vector<float> xf(c.features.size());
  while (true) {
    NAUTILUS_TRY(line, in.next());
    if (!line) break;
    if (core::trim(*line).empty()) continue;
    const auto cells = split(*line);
    if (cells.size() != c.names.size()) {
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("{}:{}: {} cells, the header has {}", o.train, in.line(),
                                    cells.size(), c.names.size()));
    }
    auto ts = core::parse_timestamp(core::trim(cells[c.ts]));
    if (!ts) {
      return core::fail(core::ErrorCode::kParse, fmt::format("{}:{}: column ts: {}", o.train,
                                                             in.line(), ts.error().message));
    }
    const std::string_view sym = core::trim(cells[c.symbol]);
    if (sym.empty()) {
      return core::fail(core::ErrorCode::kParse,
                        fmt::format("{}:{}: column symbol: empty", o.train, in.line()));
    }
    for (std::size_t j = 0; j < c.features.size(); ++j) {
      NAUTILUS_TRY(v, cell_number(cells[c.features[j]], o, in.line(), c.feature_names[j]));
      x[j] = v;
    }
    double log_return = std::nan("");
    if (c.returns) {
      NAUTILUS_TRY(r, cell_number(cells[*c.returns], o, in.line(), o.returns_column));
      log_return = r;
    }
    SymbolRun& s = symbols[std::string(sym)];
    Row row{.ts = std::string(core::trim(cells[c.ts])), .symbol = std::string(sym)};
    const auto out_of_order = [&] {
      return core::fail(core::ErrorCode::kOutOfRange,
                        fmt::format("{}:{}: column ts: {} is not after {}'s previous row", o.train,
                                    in.line(), row.ts, sym));
    };
    if (xgb) {
      if (s.rows > 0 && *ts <= s.last_ts) return out_of_order();
      s.last_ts = *ts;
      if (std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); })) {
        std::copy(x.begin(), x.end(), xf.begin());
        NAUTILUS_TRY(y, xgb->predict(xf));
        row.value = y;
      }
    } else {
      if (!s.forecaster) s.forecaster.emplace(config);
      auto f = s.forecaster->on_bar(*ts, x, log_return);
      if (!f) {
        if (f.error().code == core::ErrorCode::kOutOfRange) return out_of_order();
        return core::fail(f.error().code,
                          fmt::format("{}:{}: {}", o.train, in.line(), f.error().message));
      }
      s.row_of.push_back(rows.size());
      for (const auto& r : s.forecaster->resolved()) rows[s.row_of[r.bar]].target = r.target;
      row.value = f->value.value_or(std::nan(""));
      row.probability = f->probability.value_or(std::nan(""));
    }
    ++s.rows;
    rows.push_back(std::move(row));
  }

  NAUTILUS_TRY(out, CsvOut::open(o.out));
  out.text("ts,symbol,value,probability,target");
  if (auto ok = out.end_row(); !ok) return ok;
  for (const Row& r : rows) {
    out.text(r.ts);
    out.comma();
    out.text(r.symbol);
    out.comma();
    out.number(r.value);
    out.comma();
    out.number(r.probability);
    out.comma();
    out.number(r.target);
    if (auto ok = out.end_row(); !ok) return ok;
  }
  if (auto ok = out.flush(); !ok) return ok;

  json::object report;
  std::size_t trainings = 0;
  for (const auto& [sym, s] : symbols) {
    report[sym] = symbol_report(s, c);
    if (s.forecaster) trainings += s.forecaster->model().trainings();
  }
  if (!o.report.empty()) {
    NAUTILUS_TRY(file, CsvOut::open(o.report));
    file.text(core::to_json_text(json::object{{"model", o.model},
                                              {"features", json::value_from(c.feature_names)},
                                              {"horizon", o.horizon},
                                              {"symbols", std::move(report)}}));
    if (auto ok = file.end_row(); !ok) return ok;
    if (auto ok = file.flush(); !ok) return ok;
  }
  fmt::print(stderr, "nautilus compute ml: {} rows, {} symbols, features {}; {} trainings\n",
             rows.size(), symbols.size(), fmt::join(c.feature_names, ","), trainings);
  return {};
}

}  // namespace

int compute_ml(const ComputeOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute ml: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
