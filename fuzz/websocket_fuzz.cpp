// libFuzzer target for the websocket engine's control messages (src/engines/websocket/): any
// bytes a client may send as a frame. Property: parse_control never crashes and never throws;
// what it accepts has at most the allowed patterns, each already normalised (normalising it
// again changes nothing), and those patterns can be subscribed, matched and removed.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control.hpp"
#include "subscription_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kMax = 16;
  auto m = websocket::parse_control(text, kMax);
  if (!m) {
    if (m.error().kind.empty() || m.error().message.empty()) std::abort();
    return 0;
  }
  if (m->patterns.size() > kMax || m->id.size() > 64) std::abort();
  websocket::SubscriptionIndex idx;
  for (const auto& p : m->patterns) {
    auto again = bus::normalize_pattern(p);
    if (!again || *again != p) std::abort();
    idx.add(1, p);
  }
  static const auto topic = *bus::Topic::create("market_data.AAPL.bar");
  const auto& who = idx.clients_for(topic);
  if (who.size() > 1) std::abort();
  for (const auto& p : m->patterns) idx.remove(1, p);
  if (!idx.clients_for(topic).empty() || idx.distinct_patterns() != 0) std::abort();
  return 0;
}
