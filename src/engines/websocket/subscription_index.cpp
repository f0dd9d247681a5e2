#include "subscription_index.hpp"

#include <algorithm>

namespace nautilus::websocket {

bool SubscriptionIndex::add(std::uint64_t client, const std::string& pattern) {
  if (!by_client_[client].insert(pattern).second) return false;
  by_pattern_[pattern].insert(client);
  cache_.clear();
  return true;
}

bool SubscriptionIndex::remove(std::uint64_t client, const std::string& pattern) {
  auto c = by_client_.find(client);
  if (c == by_client_.end() || c->second.erase(pattern) == 0) return false;
  if (c->second.empty()) by_client_.erase(c);
  if (auto p = by_pattern_.find(pattern); p != by_pattern_.end()) {
    p->second.erase(client);
    if (p->second.empty()) by_pattern_.erase(p);
  }
  cache_.clear();
  return true;
}

void SubscriptionIndex::remove_client(std::uint64_t client) {
  auto c = by_client_.find(client);
  if (c == by_client_.end()) return;
  for (const auto& pattern : c->second) {
    if (auto p = by_pattern_.find(pattern); p != by_pattern_.end()) {
      p->second.erase(client);
      if (p->second.empty()) by_pattern_.erase(p);
    }
  }
  by_client_.erase(c);
  cache_.clear();
}

const std::vector<std::uint64_t>& SubscriptionIndex::clients_for(bus::Topic topic) {
  if (auto it = cache_.find(topic); it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedTopics) cache_.clear();
  std::vector<std::uint64_t> out;
  for (const auto& [pattern, clients] : by_pattern_) {
    if (bus::is_matching(topic.value(), pattern))
      out.insert(out.end(), clients.begin(), clients.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return cache_.emplace(topic, std::move(out)).first->second;
}

std::vector<std::string> SubscriptionIndex::patterns_of(std::uint64_t client) const {
  auto c = by_client_.find(client);
  if (c == by_client_.end()) return {};
  return {c->second.begin(), c->second.end()};
}

std::size_t SubscriptionIndex::pattern_count(std::uint64_t client) const {
  auto c = by_client_.find(client);
  return c == by_client_.end() ? 0 : c->second.size();
}

}  // namespace nautilus::websocket

namespace nautilus::websocket {

bool SubscriptionIndex::has(std::uint64_t client, const std::string& pattern) const {
  auto c = by_client_.find(client);
  return c != by_client_.end() && c->second.contains(pattern);
}

}  // namespace nautilus::websocket
