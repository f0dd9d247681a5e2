// The hub's store of bars for `marketdata.history`: every bar of the CSV files it was given,
// indexed by (symbol, interval), answered by close-time range. Loaded once at start-up, then
// read from any thread.
//
//   auto store = marketdata::BarStore::load({"data/universe/daily_bars.csv.gz"});
//   auto page = store->range(sym, 86'400, t0, t1, 500);   // page.bars, page.more
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "nautilus/core/error.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::marketdata {

class BarStore {
 public:
  // Reads the bar files among `paths` (files of trades or quotes are skipped: the hub replays
  // them, but history is bars). Errors name file:line as the CSV reader does. `stop`, when
  // given, is looked at every few thousand rows: once it is true the load gives up with
  // kClosed (a hub stopped before its history was read need not read the rest).
  [[nodiscard]] static core::Result<BarStore> load(const std::vector<std::string>& paths,
                                                   const std::atomic<bool>* stop = nullptr);

  // Adds bars (in any order); a bar with the close time of one already held replaces it.
  void add(std::span<const model::Bar> bars);

  struct Page {
    std::vector<model::Bar> bars;  // close time in [start, end], ascending
    bool more = false;             // the range holds more than `limit`
    core::UnixNanos next_start = 0;
  };
  // end 0: unbounded.
  [[nodiscard]] Page range(core::Symbol symbol, std::uint32_t interval_s, core::UnixNanos start,
                           core::UnixNanos end, std::size_t limit) const;
  [[nodiscard]] bool has(core::Symbol symbol, std::uint32_t interval_s) const;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t series() const noexcept { return series_.size(); }

 private:
  std::map<std::pair<std::string, std::uint32_t>, std::vector<model::Bar>, std::less<>> series_;
  std::size_t size_ = 0;
};

}  // namespace nautilus::marketdata
