#include "nautilus/marketdata/synthetic.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "nautilus/core/time.hpp"

namespace nautilus::marketdata {
namespace {

constexpr std::int64_t kMinuteNs = 60'000'000'000;
constexpr std::int64_t kDayNs = 86'400 * 1'000'000'000LL;

const std::vector<std::string> kDefaultSymbols = {
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "V",   "XOM",
    "UNH",  "JNJ",  "WMT",  "PG",   "MA",    "HD",   "KO",   "PEP", "BAC", "SPY"};

core::Price price(double v) { return *core::Price::from_double(std::max(v, 0.01), 2); }
core::Quantity qty(double v) { return *core::Quantity::from_double(v, 0); }

// Weekday of a UTC day (0 = Sunday), from days since the epoch (1970-01-01 was a Thursday).
int weekday(core::UnixNanos ts) {
  const std::int64_t days = ts / kDayNs;
  return static_cast<int>((days + 4) % 7);
}

}  // namespace

SyntheticGenerator::SyntheticGenerator(SyntheticOptions options)
    : o_(std::move(options)),
      rng_(o_.seed),
      names_(o_.symbols.empty() ? kDefaultSymbols : o_.symbols) {
  const double minutes_per_year = 252.0 * o_.minutes_per_day;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const double scale = 0.6 + uniform();  // 0.6x .. 1.6x the base volatility
    const double start_price = 20.0 + 480.0 * uniform();
    state_.push_back(SymbolState{core::Symbol::from_trusted(names_[i]),
                                 std::round(start_price * 100) / 100,
                                 o_.annual_volatility * scale / std::sqrt(minutes_per_year)});
  }
  day_start_ = o_.start;
  while (weekday(day_start_) == 0 || weekday(day_start_) == 6) day_start_ += kDayNs;
}

double SyntheticGenerator::uniform() {
  // 53 random bits: a double in [0, 1).
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

double SyntheticGenerator::normal() {
  // Box-Muller; the second value is dropped to keep the stream position simple.
  double u1 = uniform();
  while (u1 <= 0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

int SyntheticGenerator::poisson(double lambda) {
  // Knuth's method; lambda here is small (tens at most).
  const double limit = std::exp(-lambda);
  int k = 0;
  double p = uniform();
  while (p > limit) {
    ++k;
    p *= uniform();
  }
  return k;
}

bool SyntheticGenerator::next_minute(std::vector<Record>& out) {
  out.clear();
  if (day_ >= o_.days) return false;
  const core::UnixNanos t0 = day_start_ + minute_ * kMinuteNs;
  // U-shaped intraday profile: busier at the open and the close, mean 1 over the session.
  const double x = (minute_ + 0.5) / o_.minutes_per_day;
  const double u = (1.0 + 6.0 * (x - 0.5) * (x - 0.5)) / 1.5;

  std::vector<Record> bars;
  for (auto& s : state_) {
    if (s.episode_left == 0 && uniform() < o_.episodes_per_day / o_.minutes_per_day) {
      s.episode_left = o_.episode_minutes;
      s.episode_direction = uniform() < 0.5 ? -1 : 1;
      episodes_.push_back({std::string(s.symbol.value()), t0, t0 + o_.episode_minutes * kMinuteNs,
                           s.episode_direction});
    }
    const bool informed = s.episode_left > 0;
    const double lambda = o_.trades_per_minute * u * (informed ? 2.5 : 1.0);
    const int n = poisson(lambda);
    std::vector<double> offsets(static_cast<std::size_t>(n));
    for (auto& off : offsets) off = uniform();
    std::sort(offsets.begin(), offsets.end());

    const double open = s.price;
    double high = open;
    double low = open;
    double volume = 0;
    double last_t = 0;
    const double drift = informed ? s.episode_direction * 0.5 * s.sigma_minute : 0.0;
    const double buy_p = informed ? 0.5 + 0.35 * s.episode_direction : 0.5;
    const double half_spread = s.price * o_.spread_bps * 1e-4 * (informed ? 2.0 : 1.0) / 2;
    for (double off : offsets) {
      const double dt = off - last_t;
      last_t = off;
      s.price *= std::exp((drift - 0.5 * s.sigma_minute * s.sigma_minute) * dt +
                          s.sigma_minute * std::sqrt(dt) * normal());
      const bool buy = uniform() < buy_p;
      const double bid = s.price - half_spread;
      const double ask = s.price + half_spread;
      const double px = std::round((buy ? ask : bid) * 100) / 100;
      const double size = 100.0 * (1 + poisson(informed ? 4.0 : 2.0));
      // Millisecond stamps, like most consolidated feeds (and smaller sample files).
      const auto ts = t0 + static_cast<std::int64_t>(off * 60'000) * 1'000'000;
      if (o_.quotes) {
        out.emplace_back(model::QuoteTick{s.symbol, price(bid), price(ask),
                                          qty(100 * (1 + poisson(3))), qty(100 * (1 + poisson(3))),
                                          ts});
      }
      out.emplace_back(model::TradeTick{
          s.symbol, price(px), qty(size),
          buy ? model::AggressorSide::kBuyer : model::AggressorSide::kSeller, ++trade_id_, ts});
      high = std::max(high, px);
      low = std::min(low, px);
      volume += size;
    }
    // The rest of the minute, then a jump now and then (news).
    s.price *= std::exp((drift - 0.5 * s.sigma_minute * s.sigma_minute) * (1 - last_t) +
                        s.sigma_minute * std::sqrt(1 - last_t) * normal());
    if (uniform() < o_.jumps_per_day / o_.minutes_per_day)
      s.price *= std::exp(o_.jump_stdev * normal());
    const double close = n > 0 ? std::round(s.price * 100) / 100 : open;
    if (n == 0) s.price = open;
    high = std::max(high, close);
    low = std::min(low, close);
    bars.emplace_back(model::Bar{s.symbol, price(open), price(high), price(low), price(close),
                                 qty(volume), 60, t0 + kMinuteNs});
    if (s.episode_left > 0) --s.episode_left;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Record& a, const Record& b) { return record_ts(a) < record_ts(b); });
  out.insert(out.end(), bars.begin(), bars.end());

  if (++minute_ == o_.minutes_per_day) {
    minute_ = 0;
    ++day_;
    do {
      day_start_ += kDayNs;
    } while (weekday(day_start_) == 0 || weekday(day_start_) == 6);
    for (auto& s : state_) s.episode_left = 0;
  }
  return true;
}

namespace {

class CsvOut {
 public:
  explicit CsvOut(const std::string& path) : path_(path) {
    gz_ = path.ends_with(".gz");
    if (gz_) {
      z_ = gzopen(path.c_str(), "wb9");
    } else {
      f_ = std::fopen(path.c_str(), "wb");
    }
  }
  ~CsvOut() { close(); }
  bool ok() const { return gz_ ? z_ != nullptr : f_ != nullptr; }
  void write(const std::string& s) {
    if (gz_) {
      gzwrite(z_, s.data(), static_cast<unsigned>(s.size()));
    } else {
      std::fwrite(s.data(), 1, s.size(), f_);
    }
  }
  bool close() {
    bool good = true;
    if (z_ != nullptr) good = gzclose(z_) == Z_OK;
    if (f_ != nullptr) good = std::fclose(f_) == 0;
    z_ = nullptr;
    f_ = nullptr;
    return good;
  }

 private:
  std::string path_;
  bool gz_ = false;
  gzFile z_ = nullptr;
  std::FILE* f_ = nullptr;
};

}  // namespace

core::Result<std::size_t> write_sample(const SyntheticOptions& options,
                                       const std::string& bars_path,
                                       const std::string& trades_path) {
  CsvOut bars(bars_path);
  if (!bars.ok())
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot create", bars_path));
  std::unique_ptr<CsvOut> trades;
  if (!trades_path.empty()) {
    trades = std::make_unique<CsvOut>(trades_path);
    if (!trades->ok()) {
      return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot create", trades_path));
    }
    trades->write("ts,symbol,price,size,side,trade_id\n");
  }
  bars.write("ts,symbol,open,high,low,close,volume\n");
  SyntheticGenerator g(options);
  std::vector<Record> minute;
  std::size_t rows = 0;
  std::string buf;
  while (g.next_minute(minute)) {
    buf.clear();
    std::string tbuf;
    for (const auto& r : minute) {
      if (const auto* b = std::get_if<model::Bar>(&r)) {
        fmt::format_to(std::back_inserter(buf), "{},{},{},{},{},{},{}\n",
                       core::format_timestamp(b->ts_event), b->symbol.value(), b->open.to_string(),
                       b->high.to_string(), b->low.to_string(), b->close.to_string(),
                       b->volume.to_string());
        ++rows;
      } else if (const auto* t = std::get_if<model::TradeTick>(&r); t && trades) {
        fmt::format_to(std::back_inserter(tbuf), "{},{},{},{},{},{}\n",
                       core::format_timestamp(t->ts_event), t->symbol.value(), t->price.to_string(),
                       t->size.to_string(),
                       t->aggressor == model::AggressorSide::kBuyer ? "B" : "S", t->trade_id);
        ++rows;
      }
    }
    bars.write(buf);
    if (trades) trades->write(tbuf);
  }
  if (!bars.close() || (trades && !trades->close())) {
    return core::fail(core::ErrorCode::kIo, "sample: write failed");
  }
  return rows;
}

}  // namespace nautilus::marketdata
