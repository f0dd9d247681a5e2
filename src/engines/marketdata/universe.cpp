#include "nautilus/marketdata/universe.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <random>
#include <set>
#include <string_view>

#include "nautilus/core/identifiers.hpp"
#include "nautilus/core/time.hpp"
#include "nautilus/marketdata/reference.hpp"

namespace nautilus::marketdata {
namespace {

using core::ErrorCode;
using core::fail;

constexpr std::int64_t kDayNs = 86'400'000'000'000;
constexpr std::int64_t kHourNs = 3'600'000'000'000;
constexpr double kTradingDays = 252.0;
constexpr std::int64_t kTicks = 10'000;  // prices are kept in 1/10000 of a dollar

// ---------------------------------------------------------------------------------------------
// The calendar: days since 1970-01-01 (Howard Hinnant's civil-date algorithms).

struct Civil {
  int y;
  int m;
  int d;
};

std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const auto mp = static_cast<unsigned>((m + 9) % 12);
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const auto d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const auto m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const auto y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
  return {y, m, d};
}

int weekday(std::int64_t days) {  // 0 = Sunday; 1970-01-01 was a Thursday
  return static_cast<int>(((days + 4) % 7 + 7) % 7);
}
bool trading_day(std::int64_t days) {
  const int w = weekday(days);
  return w != 0 && w != 6;
}
std::int64_t next_trading_day(std::int64_t days) {
  while (!trading_day(days)) ++days;
  return days;
}

std::string date_text(std::int64_t days) {
  const Civil c = civil_from_days(days);
  return fmt::format("{:04}-{:02}-{:02}", c.y, c.m, c.d);
}

int last_day_of_month(int y, int m) {
  const int ny = m == 12 ? y + 1 : y;
  const int nm = m == 12 ? 1 : m + 1;
  return static_cast<int>(days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1));
}

// 16:00 New York in UTC: daylight time from the second Sunday of March to the first Sunday of
// November (the switch is at 02:00, so a 16:00 close on those Sundays is already switched).
core::UnixNanos close_time(std::int64_t days) {
  const Civil c = civil_from_days(days);
  const auto nth_sunday = [&](int month, int n) {
    const std::int64_t first = days_from_civil(c.y, month, 1);
    return first + (7 - weekday(first)) % 7 + std::int64_t{7} * (n - 1);
  };
  const bool dst = days >= nth_sunday(3, 2) && days < nth_sunday(11, 1);
  return days * kDayNs + (dst ? 20 : 21) * kHourNs;
}

// ---------------------------------------------------------------------------------------------
// Sectors: GICS names, a share of the universe, median book/price, sales/price and operating
// cash flow/sales, and GICS industries.

struct SectorSpec {
  std::string_view name;
  double weight;
  double book_price;
  double sales_price;
  double cash_margin;
  std::vector<std::string_view> industries;
};

const std::vector<SectorSpec>& sector_specs() {
  static const std::vector<SectorSpec> kSpecs = {
      {"Communication Services",
       0.05,
       0.35,
       0.45,
       0.22,
       {"Diversified Telecommunication Services", "Wireless Telecommunication Services", "Media",
        "Entertainment", "Interactive Media & Services"}},
      {"Consumer Discretionary",
       0.10,
       0.25,
       0.70,
       0.10,
       {"Automobiles", "Automobile Components", "Hotels, Restaurants & Leisure", "Specialty Retail",
        "Textiles, Apparel & Luxury Goods", "Household Durables", "Broadline Retail"}},
      {"Consumer Staples",
       0.07,
       0.22,
       0.65,
       0.09,
       {"Food Products", "Beverages", "Household Products",
        "Consumer Staples Distribution & Retail", "Personal Care Products", "Tobacco"}},
      {"Energy",
       0.045,
       0.55,
       1.10,
       0.14,
       {"Oil, Gas & Consumable Fuels", "Energy Equipment & Services"}},
      {"Financials",
       0.14,
       0.80,
       0.30,
       0.25,
       {"Banks", "Capital Markets", "Insurance", "Financial Services", "Consumer Finance"}},
      {"Health Care",
       0.12,
       0.28,
       0.45,
       0.13,
       {"Pharmaceuticals", "Biotechnology", "Health Care Equipment & Supplies",
        "Health Care Providers & Services", "Life Sciences Tools & Services"}},
      {"Industrials",
       0.15,
       0.25,
       0.55,
       0.11,
       {"Aerospace & Defense", "Machinery", "Ground Transportation", "Building Products",
        "Electrical Equipment", "Professional Services", "Commercial Services & Supplies"}},
      {"Information Technology",
       0.13,
       0.12,
       0.18,
       0.24,
       {"Software", "Semiconductors & Semiconductor Equipment",
        "Technology Hardware, Storage & Peripherals", "IT Services", "Communications Equipment",
        "Electronic Equipment, Instruments & Components"}},
      {"Materials",
       0.055,
       0.45,
       0.70,
       0.13,
       {"Chemicals", "Metals & Mining", "Containers & Packaging", "Construction Materials"}},
      {"Real Estate",
       0.06,
       0.60,
       0.15,
       0.40,
       {"Residential REITs", "Industrial REITs", "Retail REITs", "Office REITs",
        "Specialized REITs", "Real Estate Management & Development"}},
      {"Utilities",
       0.06,
       0.60,
       0.45,
       0.22,
       {"Electric Utilities", "Multi-Utilities", "Gas Utilities", "Water Utilities"}},
  };
  return kSpecs;
}

// ---------------------------------------------------------------------------------------------
// Numbers as text: the shortest decimal that reads back as the same double (never an exponent),
// so whoever reads the files recomputes the generator's own values.

void append_double(std::string& out, double v) {
  std::array<char, 400> buf{};
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  out.append(buf.data(), ec == std::errc() ? end : buf.data());
}

// Appends v to `decimals` places, trailing zeros dropped, and returns the double that text reads
// back as: the value the rest of the generator then uses, so files and ground truth agree.
double append_fixed(std::string& out, double v, int decimals) {
  std::array<char, 400> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v,
                                       std::chars_format::fixed, std::clamp(decimals, 0, 40));
  std::string_view text(buf.data(), ec == std::errc() ? end : buf.data());
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") text = "0";
  double back = 0;
  std::from_chars(text.data(), text.data() + text.size(), back, std::chars_format::fixed);
  out.append(text);
  return back;
}

// The same with `digits` significant digits.
double append_significant(std::string& out, double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return append_fixed(out, v, 0);
  const int exponent = static_cast<int>(std::floor(std::log10(std::abs(v))));
  return append_fixed(out, v, std::max(0, digits - 1 - exponent));
}

void append_price(std::string& out, std::int64_t ticks) {
  fmt::format_to(std::back_inserter(out), "{}.{:04}", ticks / kTicks, ticks % kTicks);
}

// A file written in chunks, gzip when its name ends in .gz.
class Output {
 public:
  core::Result<void> open(const std::string& path) {
    path_ = path;
    if (path.ends_with(".gz")) {
      // Level 1: the universe is regenerated rather than bundled, and level 6 took four times
      // as long for files 7 % smaller.
      z_ = gzopen(path.c_str(), "wb1");
    } else {
      f_ = std::fopen(path.c_str(), "wb");
    }
    if (z_ == nullptr && f_ == nullptr) {
      return fail(ErrorCode::kIo, fmt::format("{}: cannot create", path));
    }
    return {};
  }
  Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() { (void)close(); }

  std::string& buffer() { return buf_; }
  void flush_if_large() {
    if (buf_.size() >= (1U << 20)) flush();
  }
  core::Result<void> close() {
    flush();
    bool good = ok_;
    if (z_ != nullptr) good = gzclose(z_) == Z_OK && good;
    if (f_ != nullptr) good = std::fclose(f_) == 0 && good;
    const bool was_open = z_ != nullptr || f_ != nullptr;
    z_ = nullptr;
    f_ = nullptr;
    if (was_open && !good) return fail(ErrorCode::kIo, fmt::format("{}: write failed", path_));
    return {};
  }

 private:
  void flush() {
    if (buf_.empty()) return;
    if (z_ != nullptr) {
      ok_ = gzwrite(z_, buf_.data(), static_cast<unsigned>(buf_.size())) ==
                static_cast<int>(buf_.size()) &&
            ok_;
    } else if (f_ != nullptr) {
      ok_ = std::fwrite(buf_.data(), 1, buf_.size(), f_) == buf_.size() && ok_;
    }
    buf_.clear();
  }
  std::string path_;
  std::string buf_;
  gzFile z_ = nullptr;
  std::FILE* f_ = nullptr;
  bool ok_ = true;
};

// ---------------------------------------------------------------------------------------------
// The generator.

class Random {
 public:
  explicit Random(std::uint64_t seed) : rng_(seed) {}
  double uniform() {  // 53 random bits: [0, 1)
    return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  }
  double normal() {  // Box-Muller; the second value is dropped to keep the stream simple
    double u1 = uniform();
    while (u1 <= 0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  int below(int n) {  // 0 .. n-1
    return std::min(n - 1, static_cast<int>(uniform() * n));
  }

 private:
  std::mt19937_64 rng_;
};

struct Firm {
  std::string ticker;
  core::Symbol symbol;
  int sector = 0;
  int industry = 0;
  double idio_daily = 0;
  double turnover = 0;                // the share of shares outstanding traded on a usual day
  double growth = 0;                  // of sales and book value, a year
  std::vector<std::int64_t> filings;  // days, in order
  std::size_t next_filing = 0;
  std::int64_t close = 0;  // ticks
  std::int64_t close_at_filing = 0;
  double shares = 0;
  double book = 0;
  double sales = 0;      // trailing year
  double margin = 0;     // operating cash flow / sales
  double cash_flow = 0;  // operating, trailing year
};

struct Written {
  std::string first_history_day;
  std::string first_day;
  std::string last_day;
};

core::Result<void> check_options(const UniverseOptions& o) {
  if (o.symbols < 33 || o.symbols > 5000) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("universe: symbols must be 33 to 5000, not {}", o.symbols));
  }
  if (o.days < 1 || o.days > 10000) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("universe: days must be 1 to 10000, not {}", o.days));
  }
  const std::array<std::pair<std::string_view, double>, 8> magnitudes = {
      {{"market_volatility", o.market_volatility},
       {"sector_volatility", o.sector_volatility},
       {"momentum_volatility", o.momentum_volatility},
       {"size_volatility", o.size_volatility},
       {"value_volatility", o.value_volatility},
       {"idiosyncratic_min", o.idiosyncratic_min},
       {"idiosyncratic_max", o.idiosyncratic_max},
       {"market_drift", std::abs(o.market_drift)}}};
  for (const auto& [name, v] : magnitudes) {
    if (!std::isfinite(v) || v < 0 || v > 2) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("universe: {} must be 0 to 2 (a year), not {}", name, v));
    }
  }
  if (o.idiosyncratic_min > o.idiosyncratic_max) {
    return fail(ErrorCode::kInvalidArgument,
                "universe: idiosyncratic_min must not exceed idiosyncratic_max");
  }
  return {};
}

std::string readme(const UniverseOptions& o, const Written& w, std::size_t symbols) {
  std::string sectors;
  for (const auto& s : sector_specs()) sectors += fmt::format("`{}`, ", s.name);
  sectors.resize(sectors.size() - 2);
  return fmt::format(
      R"(# The research universe

Written by `nautilus sample --universe --seed {seed} --symbols {symbols} --days {days}`
(src/engines/marketdata/universe.cpp; docs/MARKET_DATA.md, "The research universe"). The same
options write the same bytes.

{symbols} synthetic symbols, {days} trading days from {first} to {last} (weekdays; there are no
holidays), after a burn-in of {burn_in} days from {history}: the days a toraniko model needs
before its first momentum score. Every file but the truth files covers the burn-in too.

## Files

- `daily_bars.csv.gz`: `ts,symbol,open,high,low,close,volume,interval_s`, the hub's bar format,
  one bar per symbol and day (burn-in included), `interval_s` 86400, stamped at 16:00 New York (21:00 UTC,
  20:00 UTC in daylight time), prices with 4 decimals.
- `reference.csv.gz`:
  `as_of,symbol,sector,industry,shares_outstanding,book_value,sales,operating_cash_flow`,
  point-in-time fundamentals (reference.hpp): one row per symbol and filing, `as_of` the filing
  date; each symbol's first row is dated before the burn-in starts.
- `universe.csv.gz`: `date,symbol,return,market_cap,sector,book_price,sales_price,cf_price`, one
  row per symbol and day, burn-in included: the input of a toraniko factor model.
- `truth_factor_returns.csv`: `date,market,<the 11 sectors>,mom,sze,val`, the factor returns
  drawn for each written day.
- `truth_exposures.csv.gz`: `date,symbol,mom,sze,val`, the style exposures each written day's
  return loaded on (12 decimals).

In `universe.csv.gz`: `return` is the close-to-close simple return of the bars' closes (on the
first day, from a close before the first bar), to 10 decimals; `market_cap` = shares outstanding
x close, to the dollar; the ratios are book value, sales and operating cash flow over
`market_cap`, to 10 significant digits, with the fundamentals known on that date (the reference
row with the latest `as_of` <= the close). The generator goes on from the numbers as written, so
the exposures can be recomputed exactly from this file.

## The model

    r[i,t] = market[t] + sector[s(i),t] + mom[t] x_mom[i,t] + sze[t] x_sze[i,t]
             + val[t] x_val[i,t] + eps[i,t]

- `market`: normal, drift {market_drift} and volatility {market_vol} a year;
- sectors ({sectors}): normal, volatility {sector_vol} a year, summing to zero every day (as
  toraniko constrains them, so market and sectors can be told apart);
- styles: normal, volatility a year mom {mom_vol}, sze {sze_vol}, val {val_vol}, with small
  premia (3 %, 1 %, 2 % a year);
- `eps`: normal, each symbol's volatility drawn in [{idio_min}, {idio_max}] a year.

The exposures `x[i,t]` of day t's return are toraniko 1.1.0's scores computed from the rows of
`universe.csv.gz` of the trading day before t (the last close known before t's return):

- `sze`: -log(market_cap), standardized over the day's symbols (mean 0, standard deviation with
  ddof 1), then the scores strictly between the 20th and 80th percentile (polars' "nearest":
  the sorted value at index round((n-1)q)) set to 0;
- `val`: log(book_price), log(sales_price) and cf_price each standardized, their mean
  standardized again;
- `mom`: for each symbol prod(1 + r w) - 1 over the 504 returns ending 20 trading days before
  that row (w = 2^(-age/126), the newest weighing 1), winsorized at the 1st and 99th percentile
  (numpy's linear percentile), standardized. It needs 524 rows of history: hence the burn-in.
  During the burn-in, returns load on size and value only.

A regression of each day's `return` on market, sectors (summing to zero) and the true
exposures recovers `truth_factor_returns.csv` up to the idiosyncratic noise
(tests/unit/marketdata/universe_test.cpp, tests/reference/universe_check.py).

Fundamentals: initial market caps log-normal around $30B, book/price, sales/price and cash-flow
margins around sector medians. Every fiscal quarter (most fiscal years end in December, some
one or two months later) a filing about 40 days after the quarter end (60 after the fiscal
year end) moves sales and book value by the firm's growth, 30 % (20 % for book) of its log
price change since the last filing and noise; shares outstanding drift down slowly (buybacks).
`sales` and `operating_cash_flow` are trailing-year figures; `book_value` is equity at the
quarter's end.

Bars: the close is the model's; the open takes part of the day's move overnight; high and low
reach beyond open and close by half-normal amounts; volume is a per-symbol turnover of shares
outstanding, busier on days with large idiosyncratic moves.
)",
      fmt::arg("seed", o.seed), fmt::arg("symbols", symbols), fmt::arg("days", o.days),
      fmt::arg("first", w.first_day), fmt::arg("last", w.last_day),
      fmt::arg("burn_in", kUniverseBurnIn), fmt::arg("history", w.first_history_day),
      fmt::arg("market_drift", o.market_drift), fmt::arg("market_vol", o.market_volatility),
      fmt::arg("sectors", sectors), fmt::arg("sector_vol", o.sector_volatility),
      fmt::arg("mom_vol", o.momentum_volatility), fmt::arg("sze_vol", o.size_volatility),
      fmt::arg("val_vol", o.value_volatility), fmt::arg("idio_min", o.idiosyncratic_min),
      fmt::arg("idio_max", o.idiosyncratic_max));
}

}  // namespace

const std::vector<std::string>& gics_sectors() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> out;
    for (const auto& s : sector_specs()) out.emplace_back(s.name);
    return out;
  }();
  return kNames;
}

core::Result<UniverseSummary> write_universe(const UniverseOptions& o, const std::string& dir) {
  if (auto ok = check_options(o); !ok) return std::unexpected(ok.error());
  auto start = core::parse_timestamp(o.start);
  if (!start) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("universe: start: {}", start.error().message));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec))
    ec = std::make_error_code(std::errc::not_a_directory);
  if (ec) {
    return fail(ErrorCode::kIo,
                fmt::format("{}: cannot create the directory: {}", dir, ec.message()));
  }

  // The calendar: the burn-in, then the written days.
  const std::int64_t first_day = next_trading_day(*start / kDayNs);
  std::vector<std::int64_t> days;
  for (std::int64_t d = first_day - 1; static_cast<int>(days.size()) < kUniverseBurnIn; --d) {
    if (trading_day(d)) days.push_back(d);
  }
  std::reverse(days.begin(), days.end());
  for (std::int64_t d = first_day; static_cast<int>(days.size()) < kUniverseBurnIn + o.days; ++d) {
    if (trading_day(d)) days.push_back(d);
  }
  const std::size_t burn_in = kUniverseBurnIn;
  const std::size_t total_days = days.size();

  Random rng(o.seed);
  const auto& specs = sector_specs();
  const std::size_t n = static_cast<std::size_t>(o.symbols);
  const std::size_t n_sectors = specs.size();

  // Tickers: three or four letters, distinct, in alphabetical order (as toraniko sorts them).
  std::set<std::string> tickers;
  while (tickers.size() < n) {
    const int len = rng.uniform() < 0.45 ? 3 : 4;
    std::string t;
    for (int k = 0; k < len; ++k) t.push_back(static_cast<char>('A' + rng.below(26)));
    tickers.insert(t);
  }
  // Sector sizes by the weights (largest remainders), at least three each, dealt at random.
  std::vector<int> count(n_sectors, 3);
  {
    double total_weight = 0;
    for (const auto& s : specs) total_weight += s.weight;
    const double spare = static_cast<double>(n - 3 * n_sectors);
    std::vector<std::pair<double, std::size_t>> remainders;
    std::size_t dealt = 3 * n_sectors;
    for (std::size_t s = 0; s < n_sectors; ++s) {
      const double share = spare * specs[s].weight / total_weight;
      count[s] += static_cast<int>(std::floor(share));
      dealt += static_cast<std::size_t>(std::floor(share));
      remainders.emplace_back(share - std::floor(share), s);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; dealt < n; ++k, ++dealt) ++count[remainders[k % n_sectors].second];
  }
  std::vector<int> sector_of;
  for (std::size_t s = 0; s < n_sectors; ++s) {
    sector_of.insert(sector_of.end(), static_cast<std::size_t>(count[s]), static_cast<int>(s));
  }
  for (std::size_t i = n - 1; i > 0; --i) {
    std::swap(sector_of[i],
              sector_of[static_cast<std::size_t>(rng.below(static_cast<int>(i + 1)))]);
  }

  // The firms, and their filing calendars: a quarter's figures are filed about 40 days after
  // it ends, the fiscal year's about 60.
  std::vector<Firm> firms(n);
  std::vector<ReferenceRecord> reference;
  const std::int64_t history_start = days.front();
  const Civil first_civil = civil_from_days(history_start);
  const Civil last_civil = civil_from_days(days.back());
  {
    std::size_t i = 0;
    for (const auto& t : tickers) {
      Firm& f = firms[i];
      f.ticker = t;
      f.symbol = core::Symbol::from_trusted(t);
      f.sector = sector_of[i];
      const SectorSpec& spec = specs[static_cast<std::size_t>(f.sector)];
      f.industry = rng.below(static_cast<int>(spec.industries.size()));
      const double idio =
          o.idiosyncratic_min + (o.idiosyncratic_max - o.idiosyncratic_min) * rng.uniform();
      f.idio_daily = idio / std::sqrt(kTradingDays);
      f.turnover = std::exp(std::log(0.008) + 0.5 * rng.normal());
      f.growth = 0.05 + 0.05 * rng.normal();
      const double cap = std::exp(
          std::clamp(std::log(30e9) + 1.1 * rng.normal(), std::log(1.5e9), std::log(3.5e12)));
      // Larger firms tend to have higher share prices.
      const double price =
          std::exp(std::clamp(std::log(60.0) + 0.3 * std::log(cap / 30e9) + 0.6 * rng.normal(),
                              std::log(5.0), std::log(1500.0)));
      f.close = std::max<std::int64_t>(100, std::llround(price * kTicks));
      f.close_at_filing = f.close;
      f.shares = std::round(cap / (static_cast<double>(f.close) / kTicks));
      const double market_cap = f.shares * static_cast<double>(f.close) / kTicks;
      // Filings are in whole dollars.
      f.book = std::round(market_cap * std::exp(std::log(spec.book_price) + 0.5 * rng.normal()));
      f.sales = std::round(market_cap * std::exp(std::log(spec.sales_price) + 0.6 * rng.normal()));
      f.margin = std::clamp(spec.cash_margin + 0.08 * rng.normal(), -0.25, 0.6);
      f.cash_flow = std::round(f.margin * f.sales);
      const int fiscal_offset = rng.uniform() < 0.7 ? 0 : 1 + rng.below(2);
      const int jitter = rng.below(9) - 4;
      for (int y = first_civil.y - 1; y <= last_civil.y + 1; ++y) {
        for (int q = 1; q <= 4; ++q) {
          int m = 3 * q + fiscal_offset;
          const int yy = m > 12 ? y + 1 : y;
          m = m > 12 ? m - 12 : m;
          const std::int64_t quarter_end = days_from_civil(yy, m, last_day_of_month(yy, m));
          const std::int64_t filed = next_trading_day(quarter_end + (q == 4 ? 60 : 40) + jitter);
          f.filings.push_back(filed);
        }
      }
      std::sort(f.filings.begin(), f.filings.end());
      // The last filing before the history starts is the first record known.
      std::size_t k = 0;
      while (k + 1 < f.filings.size() && f.filings[k + 1] < history_start) ++k;
      f.next_filing = k + 1;
      reference.push_back({f.symbol, std::string(spec.name),
                           std::string(spec.industries[static_cast<std::size_t>(f.industry)]),
                           f.shares, f.book, f.sales, f.cash_flow, f.filings[k] * kDayNs});
      ++i;
    }
    std::stable_sort(
        reference.begin(), reference.end(),
        [](const ReferenceRecord& a, const ReferenceRecord& b) { return a.as_of < b.as_of; });
  }

  Output bars;
  Output universe;
  Output truth_returns;
  Output truth_exposures;
  const std::string base = dir + "/";
  for (const auto& [out, name] : std::array<std::pair<Output*, const char*>, 4>{
           {{&bars, "daily_bars.csv.gz"},
            {&universe, "universe.csv.gz"},
            {&truth_returns, "truth_factor_returns.csv"},
            {&truth_exposures, "truth_exposures.csv.gz"}}}) {
    if (auto ok = out->open(base + name); !ok) return std::unexpected(ok.error());
  }
  bars.buffer() += "ts,symbol,open,high,low,close,volume,interval_s\n";
  universe.buffer() += "date,symbol,return,market_cap,sector,book_price,sales_price,cf_price\n";
  truth_returns.buffer() += "date,market";
  for (const auto& s : specs) {
    fmt::format_to(std::back_inserter(truth_returns.buffer()), ",{}", s.name);
  }
  truth_returns.buffer() += ",mom,sze,val\n";
  truth_exposures.buffer() += "date,symbol,mom,sze,val\n";

  const double sq = std::sqrt(kTradingDays);
  const double market_mu = o.market_drift / kTradingDays;
  const double market_sd = o.market_volatility / sq;
  // Demeaning 11 draws shrinks their variance by 10/11; this restores the stated volatility.
  const double sector_sd =
      o.sector_volatility / sq *
      std::sqrt(static_cast<double>(n_sectors) / (static_cast<double>(n_sectors) - 1.0));
  const std::array<double, 3> style_mu = {0.03 / kTradingDays, 0.01 / kTradingDays,
                                          0.02 / kTradingDays};
  const std::array<double, 3> style_sd = {o.momentum_volatility / sq, o.size_volatility / sq,
                                          o.value_volatility / sq};

  // Per symbol, every day's written return (momentum reads 524 days back).
  std::vector<std::vector<double>> returns(n, std::vector<double>(total_days, 0.0));
  std::vector<double> cap(n);
  std::vector<double> bp(n);
  std::vector<double> sp(n);
  std::vector<double> cfp(n);
  std::vector<double> x_mom(n, 0.0);
  std::vector<double> x_sze(n, 0.0);
  std::vector<double> x_val(n, 0.0);
  std::vector<double> sector_return(n_sectors);
  std::vector<double> raw_mom(n);
  std::string day_text;

  for (std::size_t g = 0; g < total_days; ++g) {
    const std::int64_t day = days[g];
    day_text = date_text(day);
    const bool written = g >= burn_in;

    // Filings dated today are known at today's close.
    for (auto& f : firms) {
      while (f.next_filing < f.filings.size() && f.filings[f.next_filing] <= day) {
        const double price_move =
            std::log(static_cast<double>(f.close) / static_cast<double>(f.close_at_filing));
        f.sales =
            std::round(f.sales * std::exp(f.growth / 4 + 0.3 * price_move + 0.04 * rng.normal()));
        f.book =
            std::round(f.book * std::exp(f.growth / 4 + 0.2 * price_move + 0.025 * rng.normal()));
        f.margin = std::clamp(f.margin + 0.01 * rng.normal(), -0.25, 0.6);
        f.cash_flow = std::round(f.margin * f.sales);
        f.shares = std::max(1.0, std::round(f.shares * std::exp(-0.0025 + 0.006 * rng.normal())));
        f.close_at_filing = f.close;
        const SectorSpec& spec = specs[static_cast<std::size_t>(f.sector)];
        reference.push_back({f.symbol, std::string(spec.name),
                             std::string(spec.industries[static_cast<std::size_t>(f.industry)]),
                             f.shares, f.book, f.sales, f.cash_flow,
                             f.filings[f.next_filing] * kDayNs});
        ++f.next_filing;
      }
    }

    // Exposures from yesterday's row: what was known before today's return.
    if (g >= 1) {
      x_sze = factor_core::size_scores(cap);
      x_val = factor_core::value_scores(bp, sp, cfp);
    }
    if (g >= burn_in) {
      // Yesterday's momentum: the 504 returns ending 20 rows before yesterday's.
      const std::size_t last = g - 1 - factor_core::kMomentumLag;
      for (std::size_t i = 0; i < n; ++i) {
        raw_mom[i] = factor_core::momentum_raw(
            std::span<const double>(returns[i])
                .subspan(last + 1 - factor_core::kMomentumWindow, factor_core::kMomentumWindow));
      }
      x_mom = factor_core::momentum_scores(raw_mom);
    }

    // Today's factor returns.
    const double market = market_mu + market_sd * rng.normal();
    double sector_mean = 0;
    for (double& s : sector_return) {
      s = sector_sd * rng.normal();
      sector_mean += s;
    }
    sector_mean /= static_cast<double>(n_sectors);
    for (double& s : sector_return) s -= sector_mean;
    std::array<double, 3> style{};
    for (std::size_t k = 0; k < 3; ++k) style[k] = style_mu[k] + style_sd[k] * rng.normal();

    if (written) {
      auto& t = truth_returns.buffer();
      t += day_text;
      t += ',';
      append_double(t, market);
      for (const double s : sector_return) {
        t += ',';
        append_double(t, s);
      }
      for (const double s : style) {
        t += ',';
        append_double(t, s);
      }
      t += '\n';
    }

    const core::UnixNanos close_ts = close_time(day);
    const std::string ts_text = core::format_timestamp(close_ts);
    for (std::size_t i = 0; i < n; ++i) {
      Firm& f = firms[i];
      const double eps = f.idio_daily * rng.normal();
      const double model = market + sector_return[static_cast<std::size_t>(f.sector)] +
                           style[0] * x_mom[i] + style[1] * x_sze[i] + style[2] * x_val[i] + eps;
      const double r = std::clamp(model, -0.6, 1.5);
      const std::int64_t prev = f.close;
      f.close = std::max<std::int64_t>(100, std::llround(static_cast<double>(prev) * (1 + r)));
      const double close = static_cast<double>(f.close) / kTicks;
      const double ret = close / (static_cast<double>(prev) / kTicks) - 1;
      // What the row says is what later exposures are computed from: returns to 10 decimals,
      // market caps to the dollar, ratios to 10 significant digits.
      auto& u = universe.buffer();
      u += day_text;
      u += ',';
      u += f.ticker;
      u += ',';
      returns[i][g] = append_fixed(u, ret, 10);
      u += ',';
      cap[i] = append_fixed(u, f.shares * close, 0);
      u += ',';
      u += specs[static_cast<std::size_t>(f.sector)].name;
      u += ',';
      bp[i] = append_significant(u, f.book / cap[i], 10);
      u += ',';
      sp[i] = append_significant(u, f.sales / cap[i], 10);
      u += ',';
      cfp[i] = append_significant(u, f.cash_flow / cap[i], 10);
      u += '\n';

      // The bar, burn-in included, so the hub's history holds what momentum reads: part of the
      // day's move happens overnight; the range reaches beyond open and close; volume follows
      // turnover and rises with the symbol's own surprise.
      const double day_sd = std::sqrt(f.idio_daily * f.idio_daily + market_sd * market_sd);
      const double log_move = std::log(static_cast<double>(f.close) / static_cast<double>(prev));
      const double open_price = static_cast<double>(prev) / kTicks *
                                std::exp(0.3 * log_move + 0.25 * day_sd * rng.normal());
      const std::int64_t open = std::max<std::int64_t>(100, std::llround(open_price * kTicks));
      const double up = std::abs(rng.normal()) * 0.4 * day_sd;
      const double down = std::abs(rng.normal()) * 0.4 * day_sd;
      const auto top = static_cast<double>(std::max(open, f.close));
      const auto bottom = static_cast<double>(std::min(open, f.close));
      const std::int64_t high = std::max(
          std::max(open, f.close), static_cast<std::int64_t>(std::llround(top * std::exp(up))));
      const std::int64_t low = std::clamp<std::int64_t>(std::llround(bottom * std::exp(-down)), 1,
                                                        std::min(open, f.close));
      const double surprise = std::abs(eps) / f.idio_daily;
      const double volume = std::clamp(
          std::round(f.shares * f.turnover * std::exp(0.3 * rng.normal()) * (0.7 + 0.3 * surprise)),
          100.0, 4e9);  // what a Quantity holds
      auto& b = bars.buffer();
      b += ts_text;
      b += ',';
      b += f.ticker;
      b += ',';
      append_price(b, open);
      b += ',';
      append_price(b, high);
      b += ',';
      append_price(b, low);
      b += ',';
      append_price(b, f.close);
      fmt::format_to(std::back_inserter(b), ",{:.0f},86400\n", volume);

      if (!written) continue;

      auto& e = truth_exposures.buffer();
      e += day_text;
      e += ',';
      e += f.ticker;
      for (const double x : {x_mom[i], x_sze[i], x_val[i]}) {
        e += ',';
        append_fixed(e, x, 12);
      }
      e += '\n';
    }
    bars.flush_if_large();
    universe.flush_if_large();
    truth_exposures.flush_if_large();
  }

  for (auto* out : {&bars, &universe, &truth_returns, &truth_exposures}) {
    if (auto ok = out->close(); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = write_reference(base + "reference.csv.gz", reference); !ok) {
    return std::unexpected(ok.error());
  }

  const Written w{date_text(days.front()), date_text(days[burn_in]), date_text(days.back())};
  {
    Output doc;
    if (auto ok = doc.open(base + "README.md"); !ok) return std::unexpected(ok.error());
    doc.buffer() = readme(o, w, n);
    if (auto ok = doc.close(); !ok) return std::unexpected(ok.error());
  }
  return UniverseSummary{n,
                         static_cast<std::size_t>(o.days),
                         w.first_day,
                         w.last_day,
                         w.first_history_day,
                         {"daily_bars.csv.gz", "reference.csv.gz", "universe.csv.gz",
                          "truth_factor_returns.csv", "truth_exposures.csv.gz", "README.md"}};
}

}  // namespace nautilus::marketdata
