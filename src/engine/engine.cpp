#include "nautilus/engine/engine.hpp"

#include <fmt/format.h>

#include <charconv>

namespace nautilus::engine {

std::string EngineConfig::get(std::string_view key, std::string_view fallback) const {
  const auto it = values_.find(key);
  return it == values_.end() ? std::string(fallback) : it->second;
}

bool EngineConfig::has(std::string_view key) const { return values_.contains(key); }

core::Result<double> EngineConfig::get_double(std::string_view key, double fallback) const {
  const auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  double v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("setting '{}' must be a number, not '{}'", key, s));
  }
  return v;
}

core::Result<std::int64_t> EngineConfig::get_int(std::string_view key,
                                                 std::int64_t fallback) const {
  const auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  std::int64_t v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("setting '{}' must be an integer, not '{}'", key, s));
  }
  return v;
}

EngineContext::EngineContext(bus::MessageBus& bus, std::string name,
                             std::shared_ptr<bus::Mailbox> mailbox, EngineConfig config)
    : bus_(&bus),
      name_(std::move(name)),
      mailbox_(std::move(mailbox)),
      config_(std::move(config)) {}

core::Result<bus::SubscriptionId> EngineContext::subscribe(std::string_view pattern,
                                                           bus::Handler handler,
                                                           bus::OverflowPolicy policy) {
  return bus_->subscribe(pattern, std::move(handler),
                         {.mailbox = mailbox_, .policy = policy, .owner = name_});
}

core::Result<bus::Publisher> EngineContext::publisher() { return bus_->publisher(name_); }

}  // namespace nautilus::engine
