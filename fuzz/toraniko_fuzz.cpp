// libFuzzer target for the toraniko universe reader (universe_csv.hpp) and the model behind it.
// The input is a universe file's text. Property: no input crashes the reader or the model; a
// file that reads fits without error (bad values were refused by the reader) but for an overflow
// the model names, and every fitted date's factor returns and residuals are finite, with the
// sector returns summing to zero.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nautilus/engines/toraniko/universe_csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus::toraniko;
  // The reader takes a path (plain or gzip): the input goes through a file of this process.
  static const std::string path = "/tmp/nautilus_toraniko_fuzz_" + std::to_string(::getpid());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto u = read_universe_csv(path, {});
  if (!u) return 0;
  for (const auto residualize : {true, false}) {
    FactorModel model(u->model_config({.winsor = 0.05, .residualize_styles = residualize}));
    for (const auto& d : u->dates) {
      auto fit = model.add_date(d.date, d.rows);
      if (!fit) {
        // Finite values near 1e300 overflow the sums: refused, and said so. Anything else the
        // reader let through and the model refuses is a bug.
        if (fit.error().message.find("overflowed") == std::string::npos) std::abort();
        break;
      }
      if (!*fit) continue;
      const auto& r = (*fit)->fit;
      double sum = 0;
      double scale = 0;
      for (std::size_t j = 0; j < u->sectors.size(); ++j) {
        sum += r.factor_returns[1 + j];
        scale += std::abs(r.factor_returns[1 + j]);
      }
      if (!(std::abs(sum) <= 1e-9 * (1 + scale))) std::abort();
      for (const double v : r.factor_returns) {
        if (!std::isfinite(v)) std::abort();
      }
      for (const double v : r.residuals) {
        if (!std::isfinite(v)) std::abort();
      }
    }
  }
  return 0;
}
