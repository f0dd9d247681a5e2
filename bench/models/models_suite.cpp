#include "models_suite.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../common/python_anchor.hpp"
#include "nautilus/engines/ml/walk_forward.hpp"
#include "nautilus/engines/ml/xgboost_model.hpp"
#include "nautilus/engines/toraniko/factor_model.hpp"

#ifndef NAUTILUS_SOURCE_DIR
#define NAUTILUS_SOURCE_DIR "."
#endif

namespace nautilus::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// A generated panel, date-major, in the layout toraniko_numpy.py reads.
struct Panel {
  std::size_t n = 0, t = 0, m = 11, k = 3;
  std::vector<std::string> symbols;
  std::vector<double> ret, cap, styles;
  std::vector<std::uint16_t> sector;
};

Panel generate(std::size_t n, std::size_t t) {
  Panel p{.n = n, .t = t};
  std::mt19937_64 rng(2520);
  std::normal_distribution<double> z;
  for (std::size_t i = 0; i < n; ++i) p.symbols.push_back(fmt::format("S{:05}", i));
  std::vector<double> cap(n);
  std::vector<std::uint16_t> sec(n);
  for (std::size_t i = 0; i < n; ++i) {
    cap[i] = std::exp(22 + 1.5 * z(rng));
    sec[i] = static_cast<std::uint16_t>(rng() % p.m);
  }
  p.ret.resize(n * t);
  p.cap.resize(n * t);
  p.sector.resize(n * t);
  p.styles.resize(n * t * p.k);
  std::vector<double> f(1 + p.m + p.k);
  for (std::size_t d = 0; d < t; ++d) {
    for (double& v : f) v = 0.01 * z(rng);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t row = d * n + i;
      double r = f[0] + f[1 + sec[i]] + 0.02 * z(rng);
      for (std::size_t j = 0; j < p.k; ++j) {
        const double x = z(rng);
        p.styles[row * p.k + j] = x;
        r += f[1 + p.m + j] * x;
      }
      p.ret[row] = r;
      cap[i] *= 1 + 0.2 * r;
      p.cap[row] = cap[i];
      p.sector[row] = sec[i];
    }
  }
  return p;
}

template <class T>
bool write_raw(const fs::path& path, const std::vector<T>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(T)));
  return static_cast<bool>(out);
}

struct Run {
  double seconds = 0;
  double sum = 0;  // of every factor return, to compare with the anchor's
  std::vector<double> first;
};

Run run_toraniko(const Panel& p) {
  const std::vector<std::string> sectors = {"s00", "s01", "s02", "s03", "s04", "s05",
                                            "s06", "s07", "s08", "s09", "s10"};
  toraniko::FactorModel model({.sectors = sectors, .given_styles = {"mom", "sze", "val"}});
  std::vector<toraniko::Row> rows(p.n);
  Run out;
  const auto t0 = SteadyClock::now();
  for (std::size_t d = 0; d < p.t; ++d) {
    for (std::size_t i = 0; i < p.n; ++i) {
      const std::size_t row = d * p.n + i;
      rows[i] = {.symbol = p.symbols[i],
                 .sector = p.sector[row],
                 .ret = p.ret[row],
                 .market_cap = p.cap[row],
                 .styles = std::span<const double>(p.styles).subspan(row * p.k, p.k)};
    }
    auto fit = model.add_date(fmt::format("d{:05}", d), rows);
    if (!fit || !*fit) {
      fmt::print(stderr, "bench models: date {} not fitted\n", d);
      return out;
    }
    for (const double v : (*fit)->fit.factor_returns) out.sum += v;
    if (d == 0) out.first = (*fit)->fit.factor_returns;
  }
  out.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  return out;
}

// The numpy anchor as a process; its one JSON line.
std::optional<boost::json::object> run_numpy(const fs::path& dir, const Panel& p,
                                             std::size_t runs) {
  return run_python_anchor(
      "bench/models/toraniko_numpy.py",
      fmt::format("{} {} {} {} {} --runs {}", dir.string(), p.n, p.t, p.m, p.k, runs),
      "bench models");
}

constexpr const char* kPythonPath = "/opt/nautilus-deps/python/usr/lib/python3/dist-packages";

// The timed loops add up their predictions; storing the sum keeps the compiler from dropping them.
volatile double g_sink = 0;
void keep(double v) { g_sink = v; }

std::string run_command(const std::string& cmd, int* status) {
  std::FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  std::string text;
  std::array<char, 4096> buf{};
  while (f != nullptr && std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) {
    text += buf.data();
  }
  *status = f != nullptr ? ::pclose(f) : -1;
  return text;
}

// Walk-forward ridge on 32 features: observe (retrain when due, predict) and resolve, per
// sample; window 500, retrained every 50.
double ridge_us_per_sample(std::size_t samples) {
  ml::WalkForward wf(
      {.kind = ml::Kind::kRidge, .window = 500, .min_train = 100, .retrain_every = 50});
  std::mt19937_64 rng(32);
  std::normal_distribution<double> z;
  std::vector<double> x(32 * 1024);
  for (double& v : x) v = z(rng);
  double sink = 0;
  const auto t0 = SteadyClock::now();
  for (std::size_t i = 0; i < samples; ++i) {
    const std::span<const double> row(x.data() + (i % 1024) * 32, 32);
    auto o = wf.observe(static_cast<core::UnixNanos>(i), row);
    if (!o) return 0;
    if (o->value) sink += *o->value;
    (void)wf.resolve(o->sample, row[0] * 0.5 - row[3] + 0.1 * z(rng),
                     static_cast<core::UnixNanos>(i) + 1);
  }
  const double us = std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
  keep(sink);
  return us / static_cast<double>(samples);
}

void run_ml(const SuiteOptions& o) {
  if (o.wants("ml.ridge_us_per_sample")) {
    const std::size_t n = o.quick ? 20'000 : 200'000;
    const double us = median_of(o.runs, [&] { return ridge_us_per_sample(n); });
    print({.bench = "ml.ridge_us_per_sample",
           .value = us,
           .unit = "us",
           .runs = o.runs,
           .note = fmt::format("32 features, walk-forward window 500 retrained every 50, {} "
                               "samples; target <= 1",
                               n)},
          o.json);
  }
  if (!o.wants("ml.xgb")) return;
  // A 100-tree, depth-6 model on 32 features, trained by Python's xgboost.
  const fs::path dir = fs::temp_directory_path() / fmt::format("nautilus_bench_xgb_{}", ::getpid());
  fs::create_directories(dir);
  int status = 0;
  const std::string script = std::string(NAUTILUS_SOURCE_DIR) + "/tests/reference/xgb_reference.py";
  const std::string trained = run_command(
      fmt::format("PYTHONPATH={} /usr/bin/python3 {} train {} --rows {} --features 32 --trees 100 "
                  "--depth 6",
                  kPythonPath, script, dir.string(), o.quick ? 500 : 5000),
      &status);
  if (status != 0) {
    fmt::print(stderr, "bench models: training the XGBoost model failed: {}\n", trained);
    return;
  }
  auto model = ml::XgbModel::load((dir / "model.json").string());
  std::vector<float> rows;
  {
    std::ifstream in(dir / "rows.csv");
    std::string line;
    std::string cell;
    while (std::getline(in, line)) {
      std::stringstream cells(line);
      while (std::getline(cells, cell, ',')) rows.push_back(cell == "nan" ? NAN : std::stof(cell));
    }
  }
  if (!model || rows.size() % 32 != 0 || rows.empty()) {
    fmt::print(stderr, "bench models: cannot score the model ({} values)\n", rows.size());
    return;
  }
  const std::size_t n = rows.size() / 32;
  const double ours = median_of(o.runs, [&] {
    double sink = 0;
    const auto t0 = SteadyClock::now();
    for (std::size_t i = 0; i < n; ++i) {
      auto y = model->predict(std::span<const float>(rows.data() + i * 32, 32));
      if (y) sink += *y;
    }
    const double us = std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
    keep(sink);
    return us / static_cast<double>(n);
  });
  print({.bench = "ml.xgb_us_per_row",
         .value = ours,
         .unit = "us",
         .runs = o.runs,
         .note = fmt::format("100 trees, depth 6, 32 features, {} rows one at a time through the "
                             "C API; target <= 20",
                             n)},
        o.json);
  const std::string timed =
      run_command(fmt::format("PYTHONPATH={} /usr/bin/python3 {} time {} --repeat {}", kPythonPath,
                              script, dir.string(), std::min<std::size_t>(o.runs, 3)),
                  &status);
  std::error_code ec;
  fs::remove_all(dir, ec);
  boost::system::error_code jec;
  auto v = boost::json::parse(timed, jec);
  if (status != 0 || jec || !v.is_object()) {
    fmt::print(stderr, "bench models: the Python anchor failed: {}\n", timed);
    return;
  }
  const double theirs = v.as_object().at("us_per_row").to_number<double>();
  print({.bench = "ml.xgb_ratio_vs_python",
         .value = theirs / ours,
         .unit = "x",
         .anchor = "python_inplace_predict_us_per_row",
         .anchor_value = theirs,
         .runs = o.runs,
         .note = "Python's xgboost Booster.inplace_predict of the same rows, one at a time",
         .ratio = theirs / ours},
        o.json);
}

}  // namespace

void run_models_suite(const SuiteOptions& o) {
  run_ml(o);
  if (!o.wants("toraniko")) return;
  const std::size_t n = o.quick ? 300 : 3000;
  const std::size_t t = o.quick ? 252 : 2520;
  const Panel p = generate(n, t);
  std::vector<double> seconds;
  Run last;
  for (std::size_t r = 0; r < std::max<std::size_t>(o.runs, 1); ++r) {
    last = run_toraniko(p);
    seconds.push_back(last.seconds);
  }
  std::sort(seconds.begin(), seconds.end());
  const double ours = seconds[seconds.size() / 2];
  print({.bench = "toraniko.seconds",
         .value = ours,
         .unit = "s",
         .runs = seconds.size(),
         .note = fmt::format("{} assets x {} dates, 11 sectors, 3 styles, one thread; target <= 2",
                             n, t)},
        o.json);

  if (!o.wants("toraniko.ratio_vs_numpy")) return;
  const fs::path dir =
      fs::temp_directory_path() / fmt::format("nautilus_bench_models_{}", ::getpid());
  fs::create_directories(dir);
  const bool written =
      write_raw(dir / "returns.f64", p.ret) && write_raw(dir / "caps.f64", p.cap) &&
      write_raw(dir / "sectors.u16", p.sector) && write_raw(dir / "styles.f64", p.styles);
  // The anchor takes several seconds a run at full size: three runs, its median.
  const auto numpy = written
                         ? run_numpy(dir, p, o.quick ? o.runs : std::min<std::size_t>(o.runs, 3))
                         : std::nullopt;
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!numpy) return;
  const double theirs = numpy->at("seconds").to_number<double>();
  double worst = 0;
  const auto& first = numpy->at("first_date").as_array();
  for (std::size_t j = 0; j < first.size() && j < last.first.size(); ++j) {
    worst = std::max(worst, std::abs(first[j].to_number<double>() - last.first[j]));
  }
  const double sum_diff = std::abs(numpy->at("factor_returns_sum").to_number<double>() - last.sum);
  const auto& threads = numpy->at("threads");
  print({.bench = "toraniko.ratio_vs_numpy",
         .value = theirs / ours,
         .unit = "x",
         .anchor = "numpy_per_date_wls_s",
         .anchor_value = theirs,
         .runs = static_cast<std::size_t>(numpy->at("runs").to_number<double>()),
         .note = fmt::format(
             "numpy BLAS {} ({} threads); same results: first date within {:.2g}, "
             "sum of all factor returns within {:.2g}; target >= 10",
             std::string(numpy->at("blas").as_string()),
             threads.is_null() ? std::string("?") : fmt::format("{}", threads.to_number<double>()),
             worst, sum_diff),
         .ratio = theirs / ours},
        o.json);
}

}  // namespace nautilus::bench
