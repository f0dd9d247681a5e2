#include "nautilus/marketdata/replay.hpp"

namespace nautilus::marketdata {

core::Result<ReplaySource> ReplaySource::open(const std::vector<std::string>& paths) {
  std::vector<Input> inputs;
  for (const auto& p : paths) {
    auto r = CsvReader::open(p);
    if (!r) return std::unexpected(r.error());
    auto first = r->next();
    if (!first) return std::unexpected(first.error());
    inputs.push_back(Input{std::move(*r), *first});
  }
  return ReplaySource(std::move(inputs));
}

core::Result<std::optional<Record>> ReplaySource::next() {
  Input* best = nullptr;
  core::UnixNanos best_ts = 0;
  for (auto& in : inputs_) {
    if (!in.head) continue;
    if (best == nullptr || record_ts(*in.head) < best_ts) {
      best = &in;
      best_ts = record_ts(*in.head);
    }
  }
  if (best == nullptr) return std::optional<Record>{};
  const std::optional<Record> out = best->head;
  auto n = best->reader.next();
  if (!n) return std::unexpected(n.error());
  best->head = *n;
  return out;
}

}  // namespace nautilus::marketdata
