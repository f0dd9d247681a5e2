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
#include <string>
#include <vector>

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
  const std::string cmd = fmt::format(
      "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "
      "{}/bench/models/toraniko_numpy.py {} {} {} {} {} --runs {} 2>&1",
      NAUTILUS_SOURCE_DIR, dir.string(), p.n, p.t, p.m, p.k, runs);
  std::FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  std::string text;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) text += buf.data();
  if (::pclose(f) != 0) {
    fmt::print(stderr, "bench models: the numpy anchor failed: {}\n", text);
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    fmt::print(stderr, "bench models: the numpy anchor printed {}\n", text);
    return std::nullopt;
  }
  return v.as_object();
}

}  // namespace

void run_models_suite(const SuiteOptions& o) {
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
