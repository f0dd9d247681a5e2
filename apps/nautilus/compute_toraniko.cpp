// `nautilus compute toraniko`: the toraniko engine's FactorModel over a universe file, every
// date in order; factor_returns.csv and residuals.csv in the output directory.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "commands.hpp"
#include "compute_output.hpp"
#include "nautilus/engines/toraniko/universe_csv.hpp"

namespace nautilus::app {
namespace {

core::Result<void> compute(const ComputeOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  NAUTILUS_TRY(universe, toraniko::read_universe_csv(o.universe, {.sectors = o.sectors}));
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) {
    return core::fail(core::ErrorCode::kIo,
                      fmt::format("{}: cannot create the directory: {}", o.out, ec.message()));
  }
  toraniko::ModelOptions options;
  if (o.winsor > 0) {
    options.winsor = o.winsor;
  } else {
    options.winsor.reset();
  }
  options.residualize_styles = !o.no_residualize;
  toraniko::FactorModel model(universe.model_config(options));

  NAUTILUS_TRY(factors, CsvOut::open(o.out + "/factor_returns.csv"));
  NAUTILUS_TRY(residuals, CsvOut::open(o.out + "/residuals.csv"));
  factors.text("date");
  for (const auto& name : model.factor_names()) {
    factors.comma();
    factors.text(name);
  }
  if (auto ok = factors.end_row(); !ok) return ok;
  residuals.text("date,symbol,residual");
  if (auto ok = residuals.end_row(); !ok) return ok;

  for (const auto& d : universe.dates) {
    auto fit = model.add_date(d.date, d.rows);
    if (!fit) {
      return core::fail(fit.error().code, fmt::format("{}: {}", o.universe, fit.error().message));
    }
    if (!*fit) continue;
    const toraniko::DatedFit& f = **fit;
    factors.text(d.date);
    for (const double v : f.fit.factor_returns) {
      factors.comma();
      factors.number(v);
    }
    if (auto ok = factors.end_row(); !ok) return ok;
    for (std::size_t i = 0; i < f.symbols.size(); ++i) {
      residuals.text(d.date);
      residuals.comma();
      residuals.text(f.symbols[i]);
      residuals.comma();
      residuals.number(f.fit.residuals[i]);
      if (auto ok = residuals.end_row(); !ok) return ok;
    }
  }
  if (auto ok = factors.flush(); !ok) return ok;
  if (auto ok = residuals.flush(); !ok) return ok;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(stderr,
             "nautilus compute toraniko: {} rows, {} dates: {} fitted, {} not (too few assets "
             "with every input); {} asset-dates left out, {} rows with a missing cell; "
             "styles {} ({}); {:.2f} s\n",
             universe.rows, universe.dates.size(), model.dates_fitted(), model.dates_skipped(),
             model.rows_left_out(), universe.missing_rows, fmt::join(model.style_names(), ","),
             universe.given_styles.empty() ? "computed" : "given", seconds);
  return {};
}

}  // namespace

int compute_toraniko(const ComputeOptions& o) {
  if (auto ok = compute(o); !ok) {
    fmt::print(stderr, "nautilus compute toraniko: {}\n", ok.error().message);
    return 2;
  }
  return 0;
}

}  // namespace nautilus::app
