// run_backtest: the engines of the spec on the deterministic host over its data, a Collector on
// the bus, and the report when the data ends. load_spec: the [backtest] and [engines.*] tables.
#include "nautilus/backtest/backtest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "collector.hpp"
#include "nautilus/bus/message_bus.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/json.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/engine/host.hpp"
#include "nautilus/engine/settings.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "spec.hpp"

namespace nautilus::backtest {
namespace {

namespace json = boost::json;
using core::ErrorCode;

std::unexpected<core::Error> bad(std::string_view origin, std::string_view key,
                                 std::string_view why) {
  return std::unexpected(
      core::Error{ErrorCode::kInvalidArgument, fmt::format("{}: {}: {}", origin, key, why)});
}

// A directory stands for its .csv and .csv.gz files (and recorded streams, .jsonl[.gz]), in name
// order.
core::Result<std::vector<std::string>> expand_data(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && (name.ends_with(".csv") || name.ends_with(".csv.gz") ||
                                    marketdata::is_recorded_stream(name))) {
          files.push_back(e.path().string());
        }
      }
      if (files.empty()) {
        return core::fail(ErrorCode::kNotFound,
                          fmt::format("data {}: a directory with no .csv, .csv.gz or .jsonl file{}",
                                      p, ec ? " (" + ec.message() + ")" : std::string()));
      }
      std::sort(files.begin(), files.end());
      out.insert(out.end(), files.begin(), files.end());
    } else if (std::filesystem::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      return core::fail(
          ErrorCode::kNotFound,
          fmt::format("data {}: {}", p, ec ? ec.message() : "not a file or a directory"));
    }
  }
  return out;
}

// Where a plain CSV file's rows end: the first cell of its last line (0 for gzip, or when that
// cell is not a time). Read from the file's tail, so the data is still never read whole.
core::UnixNanos last_ts(const std::string& path) {
  if (path.ends_with(".gz")) return 0;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return 0;
  const auto size = static_cast<std::int64_t>(in.tellg());
  const std::int64_t n = std::min<std::int64_t>(size, 4096);
  std::string tail(static_cast<std::size_t>(n), '\0');
  in.seekg(size - n);
  in.read(tail.data(), n);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  const auto nl = tail.rfind('\n');
  const std::string line = nl == std::string::npos ? tail : tail.substr(nl + 1);
  auto ts = core::parse_timestamp(line.substr(0, line.find(',')));
  return ts ? *ts : 0;
}

template <class T>
const T* find_as(const std::map<std::string, core::SettingValue>& t, const std::string& key) {
  const auto it = t.find(key);
  return it == t.end() ? nullptr : std::get_if<T>(&it->second);
}

}  // namespace

const std::vector<std::string>& default_engines() {
  static const std::vector<std::string> names = {"marketdata", "features", "vpin", "enhanced_vpin",
                                                 "ml",         "strategy", "risk", "portfolio",
                                                 "collateral", "analytics"};
  return names;
}

core::Result<BacktestSpec> load_spec_text(std::string_view toml_text, std::string_view origin,
                                          const std::vector<std::string>& data) {
  NAUTILUS_TRY(tables, config::load_engine_tables_text(toml_text, origin, {"backtest"}));
  return detail::spec_from_tables(tables, origin, data);
}

core::Result<BacktestSpec> detail::spec_from_tables(config::EngineTables& tables,
                                                    std::string_view origin,
                                                    const std::vector<std::string>& data) {
  BacktestSpec spec;
  spec.config_path = std::string(origin);
  const auto& bt = tables.tables["backtest"];
  static const std::vector<std::string> kKeys = {"data", "engines", "benchmark", "chart_symbol",
                                                 "rolling_window"};
  for (const auto& [key, value] : bt) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return bad(origin, "backtest." + key,
                 "unknown key (allowed: data, engines, benchmark, chart_symbol, rolling_window)");
    }
  }
  const auto text_list = [&](const std::string& key) -> core::Result<std::vector<std::string>> {
    const auto it = bt.find(key);
    if (it == bt.end()) return std::vector<std::string>{};
    if (const auto* s = std::get_if<std::string>(&it->second)) return std::vector<std::string>{*s};
    if (const auto* l = std::get_if<std::vector<std::string>>(&it->second)) return *l;
    return bad(origin, "backtest." + key, "must be a string or an array of strings");
  };
  NAUTILUS_TRY(file_data, text_list("data"));
  NAUTILUS_TRY(engines, text_list("engines"));
  for (const char* key : {"benchmark", "chart_symbol"}) {
    if (bt.contains(key) && find_as<std::string>(bt, key) == nullptr) {
      return bad(origin, fmt::format("backtest.{}", key), "must be a string (a symbol)");
    }
  }
  if (const auto* b = find_as<std::string>(bt, "benchmark")) spec.benchmark = *b;
  if (const auto* c = find_as<std::string>(bt, "chart_symbol")) spec.chart_symbol = *c;
  if (bt.contains("rolling_window")) {
    const auto* w = find_as<std::int64_t>(bt, "rolling_window");
    if (w == nullptr || *w < 2 || *w > 10'000) {
      return bad(origin, "backtest.rolling_window", "must be an integer from 2 to 10000 (days)");
    }
    spec.rolling_window = static_cast<std::size_t>(*w);
  }
  for (const auto& s : {spec.benchmark, spec.chart_symbol}) {
    if (!s.empty()) {
      if (auto sym = core::Symbol::create(s); !sym) {
        return bad(origin, s == spec.benchmark ? "backtest.benchmark" : "backtest.chart_symbol",
                   sym.error().message);
      }
    }
  }

  spec.engines = engines.empty() ? default_engines() : engines;
  for (const auto& name : spec.engines) {
    if (name == "backtesting") {
      return bad(origin, "backtest.engines", "the backtesting engine cannot run inside a backtest");
    }
    if (engines::find_engine(name) == nullptr) {
      std::string names;
      for (const auto& a : engines::available_engines()) names += std::string(a.name()) + " ";
      return bad(origin, "backtest.engines",
                 fmt::format("no engine named '{}' (this build has: {})", name, names));
    }
  }
  for (const auto& [name, settings] : tables.engines) {
    if (engines::find_engine(name) == nullptr) {
      return bad(origin, fmt::format("[engines.{}]", name), "no such engine");
    }
    for (const auto& [k, v] : settings) spec.configs[name].set_typed(k, v);
  }

  // The data: --data, else the file's (relative to the file), else the engines' own settings.
  std::vector<std::string> paths = data;
  if (paths.empty()) {
    const auto base = std::filesystem::path(std::string(origin)).parent_path();
    for (const auto& f : file_data) {
      paths.push_back(std::filesystem::path(f).is_absolute() ? f : (base / f).string());
    }
  }
  const auto& md_given = spec.configs["marketdata"];
  if (paths.empty() && !md_given.has("files") && !md_given.has("source")) {
    // Else the hub would fall back to $NAUTILUS_DATA_DIR or the bundled sample: an environment
    // variable must not choose what a backtest runs on.
    return bad(origin, "backtest.data",
               "no data: give --data, [backtest] data, or [engines.marketdata] files or source");
  }
  if (!paths.empty() &&
      std::find(spec.engines.begin(), spec.engines.end(), "marketdata") == spec.engines.end()) {
    return bad(origin, "backtest.engines",
               "data is given but marketdata, which replays it, is not "
               "among the engines");
  }
  if (!paths.empty()) {
    auto expanded = expand_data(paths);
    if (!expanded) {
      return core::fail(expanded.error().code,
                        fmt::format("{}: {}", origin, expanded.error().message));
    }
    auto files = std::move(*expanded);
    spec.data = std::move(files);
    auto& md = spec.configs["marketdata"];
    md.set("source", "replay");
    md.set_typed("files", spec.data);
  }
  // History the hub would hold whole is what a backtest must not (it streams its data); a
  // config that asks for history_files still gets them.
  if (!spec.configs["marketdata"].has("history_of_replay")) {
    spec.configs["marketdata"].set("history_of_replay", "false");
  }
  // VaR once a simulated day, not every minute as live: over minute bars the Monte Carlo run
  // of every minute was three quarters of a backtest's time, for a figure read daily. A config
  // that sets it keeps its own.
  if (std::find(spec.engines.begin(), spec.engines.end(), "risk") != spec.engines.end() &&
      !spec.configs["risk"].has("var_interval_s")) {
    spec.configs["risk"].set("var_interval_s", "86400");
  }
  // The books once, at the start, not every 5 simulated seconds: they are there for an engine
  // that restarts, which nothing in a backtest does, and adopting them in risk, strategy and
  // collateral was a fifth of a backtest's time (perf, docs/PERFORMANCE.md "Backtests").
  if (std::find(spec.engines.begin(), spec.engines.end(), "portfolio") != spec.engines.end() &&
      !spec.configs["portfolio"].has("books_interval_s")) {
    spec.configs["portfolio"].set("books_interval_s", "0");
  }
  for (const auto& [name, given] : spec.configs) {
    const auto* e = engines::find_engine(name);
    if (auto ok = engine::resolve_settings(name, e->info().settings, given); !ok) {
      return core::fail(ok.error().code, fmt::format("{}: {}", origin, ok.error().message));
    }
  }
  return spec;
}

core::Result<std::string> detail::read_config(const std::string& config_path) {
  std::ifstream in(config_path);
  if (!in) {
    return core::fail(ErrorCode::kNotFound,
                      fmt::format("cannot read config file '{}'", config_path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<BacktestSpec> load_spec(const std::string& config_path,
                                     const std::vector<std::string>& data) {
  NAUTILUS_TRY(text, detail::read_config(config_path));
  return load_spec_text(text, config_path, data);
}

core::Result<BacktestReport> run_backtest(const BacktestSpec& spec, const ProgressFn& progress,
                                          const std::atomic<bool>* cancel) {
  const auto wall0 = std::chrono::steady_clock::now();
  const auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  };
  // Known only when every file's is (a gzip file's is not): else no share done and no ETA.
  core::UnixNanos end = 0;
  for (const auto& f : spec.data) {
    const auto t = last_ts(f);
    if (t == 0) {
      end = 0;
      break;
    }
    end = std::max(end, t);
  }
  // A replay window (walk-forward, a REST job) ends the data at replay_until.
  if (const auto md = spec.configs.find("marketdata"); md != spec.configs.end()) {
    if (const auto it = md->second.values().find("replay_until"); it != md->second.values().end()) {
      if (const auto* text = std::get_if<std::string>(&it->second.value)) {
        if (auto until = core::parse_timestamp(*text); until && (end == 0 || *until < end)) {
          end = *until;
        }
      }
    }
  }

  core::SimulatedClock clock;
  bus::MessageBus bus(
      {.clock = &clock, .request_timer_thread = false, .reply_endpoint = "_reply.backtest"});
  Collector collector(spec);
  if (auto ok = collector.subscribe(bus); !ok) return std::unexpected(ok.error());

  std::vector<std::unique_ptr<engine::Engine>> engines;
  for (const auto& name : spec.engines) engines.push_back(engines::find_engine(name)->create());
  engine::HostOptions options{
      .configs = spec.configs, .simulated_clock = &clock, .serve_http = false};
  // Health messages every 10 s of simulated time are noise in a backtest.
  options.health_interval = std::chrono::nanoseconds(0);
  // An engine that does not start is a configuration it refuses (kInvalidArgument: exit 2).
  if (cancel != nullptr && cancel->load()) return core::fail(ErrorCode::kClosed, "cancelled");
  auto started = engine::EngineHost::start(bus, std::move(engines), std::move(options));
  if (!started) return core::fail(ErrorCode::kInvalidArgument, started.error().message);
  auto& host = *started;
  // A source that stopped on an error (a data file's bad row) fails the run: the report of a
  // backtest cut short would read as a whole one. (At start too: a file whose first rows are
  // bad leaves the clock with nothing to start from.)
  const auto source_failed = [&]() -> std::optional<core::Error> {
    for (const auto& e : host->engine_objects()) {
      if (e->info().name != "marketdata") continue;
      if (const auto h = e->health(); !h.healthy) {
        return core::Error{ErrorCode::kParse, fmt::format("marketdata: {}", h.detail)};
      }
    }
    return std::nullopt;
  };
  const core::UnixNanos start = clock.now();
  if (start == 0) {
    if (auto e = source_failed()) return std::unexpected(*e);
    return core::fail(ErrorCode::kInvalidArgument,
                      "no engine has data to start the simulated clock from (no --data, and "
                      "marketdata.source is not replay or synthetic?)");
  }

  double next_report = 1;
  std::uint32_t calls = 0;
  const auto report_progress = [&](bool done) {
    if (!progress) return;
    progress({.events = bus.metrics().total_published(),
              .data_time = clock.now(),
              .start = start,
              .end = end,
              .wall_s = wall(),
              .done = done});
  };
  bool cancelled = false;
  auto handled = host->run([&] {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      cancelled = true;
      return false;
    }
    // The steady clock only every 256 due times: a backtest has millions of them.
    if (++calls % 256 != 0 || wall() < next_report) return true;
    next_report = wall() + 1;
    report_progress(false);
    return true;
  });
  if (!handled) return std::unexpected(handled.error());
  if (cancelled) {
    host->drain_and_stop();
    return core::fail(ErrorCode::kClosed, "cancelled");
  }
  host->drain_and_stop();
  if (auto e = source_failed()) return std::unexpected(*e);
  report_progress(true);

  // The report's tree lives in one monotonic arena, freed at once when the run returns: built
  // value by value on the heap, its trade rows' allocations and frees were a tenth of a
  // backtest's time (docs/PERFORMANCE.md, "Backtests"). Declared before the tree it outlives.
  json::monotonic_resource arena;
  const json::storage_ptr sp(&arena);
  json::array data(sp);
  for (const auto& f : spec.data) data.emplace_back(f);
  json::array names(sp);
  for (const auto& n : spec.engines) names.emplace_back(n);
  std::string strategy;
  if (std::find(spec.engines.begin(), spec.engines.end(), "strategy") != spec.engines.end()) {
    const auto it = spec.configs.find("strategy");
    auto s =
        engine::resolve_settings("strategy", engines::find_engine("strategy")->info().settings,
                                 it == spec.configs.end() ? engine::EngineConfig{} : it->second);
    if (s) strategy = s->text("strategy");
  }
  json::object meta({{"config", spec.config_path},
                     {"data", std::move(data)},
                     {"start", core::format_timestamp(start)},
                     {"end", core::format_timestamp(clock.now())},
                     {"events", bus.metrics().total_published()},
                     {"engines", std::move(names)},
                     {"strategy", strategy}},
                    sp);
  NAUTILUS_TRY(report_object, collector.report(std::move(meta), sp));
  // Moved into a value: to_json_text takes one, and passing the object would copy the tree.
  const json::value report_value(std::move(report_object));
  const json::object& report = report_value.as_object();
  BacktestReport out;
  out.json = core::to_json_text(report_value);
  out.json += '\n';
  out.events = bus.metrics().total_published();
  out.fills = collector.fills();
  out.days = collector.days();
  out.final_nav = collector.final_nav();
  const auto& m = report.at("metrics").as_object();
  if (const auto* s = m.if_contains("sharpe_ratio"); s != nullptr && s->is_double()) {
    out.sharpe_ratio = s->as_double();
  }
  for (const auto& [key, value] : m) {
    if (value.is_number()) out.metrics.emplace(std::string(key), value.to_number<double>());
  }
  out.wall_s = wall();
  for (const auto& w : report.at("warnings").as_array()) {
    out.warnings.emplace_back(w.as_string());
  }
  return out;
}

}  // namespace nautilus::backtest
