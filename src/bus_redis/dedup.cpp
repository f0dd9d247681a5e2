// Dedup (dedup.hpp): finding, or making room for, the ring of a writer and source that is not
// the last one used.
#include "dedup.hpp"

#include <algorithm>
#include <bit>

namespace nautilus::bus_redis::detail {

Dedup::Dedup(std::size_t window) : size_(std::bit_ceil(std::max<std::size_t>(window, 64))) {}

std::vector<Dedup::Slot>& Dedup::find_ring(std::string_view origin, const char* source) {
  auto o = origins_.find(origin);
  if (o == origins_.end()) o = origins_.emplace(std::string(origin), Sources{}).first;
  auto it = o->second.find(source);
  if (it == o->second.end()) {
    if (rings_ >= kMaxRings) {
      origins_.clear();
      rings_ = 0;
      o = origins_.emplace(std::string(origin), Sources{}).first;
    }
    it = o->second.emplace(source, std::vector<Slot>(size_)).first;
    ++rings_;
  }
  last_origin_.assign(origin);
  last_source_ = source;
  last_ring_ = &it->second;
  return it->second;
}

}  // namespace nautilus::bus_redis::detail
