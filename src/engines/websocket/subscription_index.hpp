// Which clients want a topic: each client's patterns, indexed by pattern, and the answer per
// topic cached until a subscription changes (a topic's fan-out then costs one hash lookup; the
// patterns are matched once per distinct topic, not once per message and client).
//
//   SubscriptionIndex idx;
//   idx.add(7, "market_data.*.bar");
//   for (std::uint64_t client : idx.clients_for(topic)) ...;
//
// Not thread-safe: the websocket engine holds its lock around it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nautilus/bus/topic.hpp"

namespace nautilus::websocket {

class SubscriptionIndex {
 public:
  // False when the client had the pattern already.
  bool add(std::uint64_t client, const std::string& pattern);
  // False when the client did not have it.
  bool remove(std::uint64_t client, const std::string& pattern);
  void remove_client(std::uint64_t client);

  // The clients whose patterns match `topic`, in ascending id order, each once. The reference
  // is valid until the next change.
  [[nodiscard]] const std::vector<std::uint64_t>& clients_for(bus::Topic topic);
  [[nodiscard]] std::vector<std::string> patterns_of(std::uint64_t client) const;
  [[nodiscard]] std::size_t pattern_count(std::uint64_t client) const;
  [[nodiscard]] bool has(std::uint64_t client, const std::string& pattern) const;
  [[nodiscard]] std::size_t distinct_patterns() const noexcept { return by_pattern_.size(); }

 private:
  std::map<std::string, std::set<std::uint64_t>, std::less<>> by_pattern_;
  std::unordered_map<std::uint64_t, std::set<std::string>> by_client_;
  // Bounded: a bus with more distinct topics than this starts the cache over.
  static constexpr std::size_t kMaxCachedTopics = 200'000;
  std::unordered_map<bus::Topic, std::vector<std::uint64_t>> cache_;
};

}  // namespace nautilus::websocket
