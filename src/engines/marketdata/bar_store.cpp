#include "nautilus/marketdata/bar_store.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nautilus/marketdata/csv.hpp"

namespace nautilus::marketdata {

core::Result<BarStore> BarStore::load(const std::vector<std::string>& paths,
                                      const std::atomic<bool>* stop) {
  constexpr std::size_t kStopCheckRows = 4096;
  BarStore store;
  for (const auto& path : paths) {
    auto reader = CsvReader::open(path);
    if (!reader) return std::unexpected(reader.error());
    if (reader->kind() != RecordKind::kBar) continue;
    std::vector<model::Bar> bars;
    while (true) {
      if (stop != nullptr && bars.size() % kStopCheckRows == 0 &&
          stop->load(std::memory_order_relaxed)) {
        return core::fail(core::ErrorCode::kClosed,
                          fmt::format("{}: stopped before it was read", path));
      }
      auto rec = reader->next();
      if (!rec) return std::unexpected(rec.error());
      if (!*rec) break;
      bars.push_back(std::get<model::Bar>(**rec));  // NOLINT(bugprone-unchecked-optional-access)
    }
    store.add(bars);
  }
  return store;
}

void BarStore::add(std::span<const model::Bar> bars) {
  const auto by_ts = [](const model::Bar& a, const model::Bar& b) {
    return a.ts_event < b.ts_event;
  };
  std::vector<std::vector<model::Bar>*> touched;
  for (const auto& b : bars) {
    auto& v = series_[{std::string(b.symbol.value()), b.interval_s}];
    if (touched.empty() || touched.back() != &v) touched.push_back(&v);
    v.push_back(b);
  }
  size_ = 0;
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (auto* v : touched) {
    // Stable, so of two bars with one close time the later added comes last and is kept.
    std::stable_sort(v->begin(), v->end(), by_ts);
    std::vector<model::Bar> dedup;
    dedup.reserve(v->size());
    for (const auto& b : *v) {
      if (!dedup.empty() && dedup.back().ts_event == b.ts_event) {
        dedup.back() = b;
      } else {
        dedup.push_back(b);
      }
    }
    *v = std::move(dedup);
  }
  for (const auto& [key, v] : series_) size_ += v.size();
}

bool BarStore::has(core::Symbol symbol, std::uint32_t interval_s) const {
  return series_.find(std::pair{std::string(symbol.value()), interval_s}) != series_.end();
}

BarStore::Page BarStore::range(core::Symbol symbol, std::uint32_t interval_s, core::UnixNanos start,
                               core::UnixNanos end, std::size_t limit) const {
  Page page;
  auto it = series_.find(std::pair{std::string(symbol.value()), interval_s});
  if (it == series_.end()) return page;
  const auto& v = it->second;
  auto first =
      std::lower_bound(v.begin(), v.end(), start,
                       [](const model::Bar& b, core::UnixNanos t) { return b.ts_event < t; });
  auto last = end == 0 ? v.end()
                       : std::upper_bound(
                             first, v.end(), end,
                             [](core::UnixNanos t, const model::Bar& b) { return t < b.ts_event; });
  const auto n = static_cast<std::size_t>(last - first);
  const std::size_t take = std::min(n, limit);
  page.bars.assign(first, first + static_cast<std::ptrdiff_t>(take));
  if (take < n) {
    page.more = true;
    page.next_start = (first + static_cast<std::ptrdiff_t>(take))->ts_event;
  }
  return page;
}

}  // namespace nautilus::marketdata
