#include "nautilus/bus/symbol_topics.hpp"

#include <utility>

namespace nautilus::bus {

SymbolTopics::SymbolTopics(MessageBus& bus, std::string prefix, std::string suffix)
    : bus_(&bus), prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}

core::Result<TopicHandle*> SymbolTopics::get(core::Symbol symbol) {
  if (auto it = handles_.find(symbol); it != handles_.end()) return &it->second;
  std::string name;
  name.reserve(prefix_.size() + 1 + symbol.value().size() + suffix_.size());
  name.append(prefix_).append(".").append(symbol.value()).append(suffix_);
  auto h = bus_->topic(name);
  if (!h) return std::unexpected(h.error());
  return &handles_.emplace(symbol, std::move(*h)).first->second;
}

}  // namespace nautilus::bus
