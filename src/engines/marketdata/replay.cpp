#include "nautilus/marketdata/replay.hpp"

namespace nautilus::marketdata {

core::Result<ReplaySource> ReplaySource::open(const std::vector<std::string>& paths) {
  std::vector<Input> inputs;
  for (const auto& p : paths) {
    auto r = CsvReader::open(p);
    if (!r) return std::unexpected(r.error());
    auto first = r->next();
    if (!first) return std::unexpected(first.error());
    inputs.push_back(Input{std::move(*r), std::move(*first)});
  }
  return ReplaySource(std::move(inputs));
}

core::Result<std::optional<Record>> ReplaySource::next() {
  Input* best = nullptr;
  for (auto& in : inputs_) {
    if (in.head && (best == nullptr || record_ts(*in.head) < record_ts(*best->head))) best = &in;
  }
  if (best == nullptr) return std::optional<Record>{};
  std::optional<Record> out = std::move(best->head);
  auto n = best->reader.next();
  if (!n) return std::unexpected(n.error());
  best->head = std::move(*n);
  return out;
}

}  // namespace nautilus::marketdata
