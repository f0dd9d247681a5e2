#include <fmt/format.h>

#include <filesystem>

#include "commands.hpp"
#include "nautilus/marketdata/synthetic.hpp"

namespace nautilus::app {

int write_sample_data(const SampleOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    fmt::print(stderr, "nautilus sample: cannot create {}: {}\n", o.out_dir, ec.message());
    return 2;
  }
  const marketdata::SyntheticOptions opts{.seed = o.seed, .days = o.days};
  auto rows =
      marketdata::write_sample(opts, o.out_dir + "/bars_1m.csv.gz", o.out_dir + "/trades.csv.gz");
  if (!rows) {
    fmt::print(stderr, "nautilus sample: {}\n", rows.error().message);
    return 2;
  }
  fmt::print("nautilus sample: wrote {} rows (seed {}, {} trading days) to {}\n", *rows, o.seed,
             o.days, o.out_dir);
  return 0;
}

}  // namespace nautilus::app
