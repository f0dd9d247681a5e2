// Data quality at the hub: every record a source produces passes one QualityFilter (one per
// source) before it is published. What each check does (docs/MARKET_DATA.md, "Data quality"):
//
//   out_of_order  a record older than the symbol's last of its kind      dropped
//   duplicate     the same trade id, bar time or quote as the last one   dropped
//   crossed       a quote whose bid is above its ask                     dropped
//   spike         a price beyond `spike_band` of the last accepted one   live: dropped, until
//                 `spike_confirm` records in a row agree on the new level (a real jump);
//                 recorded data (a replay): counted, published, the new level taken
//   stale         a live record older than `stale_after` on arrival      counted, published
//
// Counted per (source, symbol, check) for /metrics. admit() runs on the source's own thread;
// the counters are read from the HTTP threads.
//
//   QualityFilter q("binance", {.spike_band = 0.15}, &clock, /*live=*/true);
//   if (q.admit(record)) publish(record);
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/net/prometheus.hpp"

namespace nautilus::marketdata {

struct QualitySettings {
  double spike_band = 0.15;  // relative move from the last accepted price; 0: off
  int spike_confirm = 3;     // records in a row at a new level that make it real
  std::chrono::milliseconds stale_after{5000};  // live sources only
};

enum class QualityCheck : std::uint8_t { kOutOfOrder, kDuplicate, kCrossed, kSpike, kStale };
inline constexpr std::size_t kQualityChecks = 5;
[[nodiscard]] std::string_view to_string(QualityCheck c) noexcept;

class QualityFilter {
 public:
  // `live`: records arrive as they happen (streams), so their age on arrival means something.
  QualityFilter(std::string source, QualitySettings settings, const core::Clock* clock, bool live);

  // True when the record should be published.
  [[nodiscard]] bool admit(const Record& r);

  [[nodiscard]] std::uint64_t count(std::string_view symbol, QualityCheck c) const;
  [[nodiscard]] std::uint64_t total(QualityCheck c) const;
  // Samples of nautilus_marketdata_quality_total (the caller declares the family once).
  void add_samples(net::PrometheusText& p) const;
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  struct SymbolQuality {
    std::array<core::UnixNanos, 3> last_ts{};                     // by RecordKind (bars: bar_ts)
    std::vector<std::pair<std::uint32_t, core::UnixNanos>> bars;  // (interval_s, last close)
    core::UnixNanos& bar_ts(std::uint32_t interval) {
      for (auto& [i, t] : bars) {
        if (i == interval) return t;
      }
      return bars.emplace_back(interval, 0).second;
    }
    std::uint64_t last_trade_id = 0;
    std::optional<model::QuoteTick> last_quote;
    double last_price = 0;  // last accepted trade price or bar close
    double candidate = 0;   // a level beyond the band, waiting for confirmation
    int candidate_count = 0;
    std::array<std::atomic<std::uint64_t>, kQualityChecks> counts{};
  };
  SymbolQuality& state_for(core::Symbol s);
  bool spike(SymbolQuality& q, double price);
  bool flag(SymbolQuality& q, QualityCheck c);

  std::string source_;
  QualitySettings settings_;
  const core::Clock* clock_;
  bool live_;
  mutable std::mutex mu_;  // the maps; the per-symbol state belongs to admit()'s thread
  std::unordered_map<const char*, SymbolQuality*> by_symbol_;  // interned names
  std::map<std::string, std::unique_ptr<SymbolQuality>, std::less<>> symbols_;
};

}  // namespace nautilus::marketdata
