#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "commands.hpp"
#include "nautilus/marketdata/synthetic.hpp"
#include "nautilus/marketdata/universe.hpp"

namespace nautilus::app {
namespace {

bool make_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec)) {
    ec = std::make_error_code(std::errc::not_a_directory);
  }
  if (ec) {
    fmt::print(stderr, "nautilus sample: cannot create {}: {}\n", dir, ec.message());
    return false;
  }
  return true;
}

int write_universe(const SampleOptions& o) {
  const std::string dir = o.out_dir.empty() ? "data/universe" : o.out_dir;
  const int days = o.days.value_or(756);
  if (days < 1 || days > 10000) {
    fmt::print(stderr, "nautilus sample: --days must be 1 to 10000 with --universe, not {}\n",
               days);
    return 2;
  }
  if (o.symbols < 33 || o.symbols > 5000) {
    fmt::print(stderr,
               "nautilus sample: --symbols must be 33 to 5000 (three a sector at least), not {}\n",
               o.symbols);
    return 2;
  }
  if (!make_directory(dir)) return 2;
  auto written =
      marketdata::write_universe({.seed = o.seed, .symbols = o.symbols, .days = days}, dir);
  if (!written) {
    fmt::print(stderr, "nautilus sample: {}\n", written.error().message);
    return 2;
  }
  fmt::print(
      "nautilus sample: wrote the research universe (seed {}, {} symbols, {} trading days from "
      "{} to {}, history from {}) to {}: {}\n",
      o.seed, written->symbols, written->days, written->first_day, written->last_day,
      written->first_history_day, dir, fmt::join(written->files, ", "));
  return 0;
}

}  // namespace

int write_sample_data(const SampleOptions& o) {
  if (o.universe) return write_universe(o);
  const std::string dir = o.out_dir.empty() ? "data/sample" : o.out_dir;
  const int days = o.days.value_or(21);
  if (days < 1 || days > 260) {
    fmt::print(stderr, "nautilus sample: --days must be 1 to 260, not {}\n", days);
    return 2;
  }
  if (!make_directory(dir)) return 2;
  const marketdata::SyntheticOptions opts{.seed = o.seed, .days = days};
  auto rows = marketdata::write_sample(opts, dir + "/bars_1m.csv.gz", dir + "/trades.csv.gz");
  if (!rows) {
    fmt::print(stderr, "nautilus sample: {}\n", rows.error().message);
    return 2;
  }
  fmt::print("nautilus sample: wrote {} rows (seed {}, {} trading days) to {}\n", *rows, o.seed,
             days, dir);
  return 0;
}

}  // namespace nautilus::app
