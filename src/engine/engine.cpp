#include "nautilus/engine/engine.hpp"

#include <fmt/format.h>

#include "timer_service.hpp"

namespace nautilus::engine {

EngineContext::EngineContext(bus::MessageBus& bus, std::string name,
                             std::shared_ptr<bus::Mailbox> mailbox, EngineSettings settings,
                             detail::TimerService* timers, std::size_t slot, bool simulated)
    : bus_(&bus),
      name_(std::move(name)),
      mailbox_(std::move(mailbox)),
      settings_(std::move(settings)),
      timers_(timers),
      slot_(slot),
      simulated_(simulated) {}

core::Result<void> EngineContext::timers_usable(std::string_view name) const {
  if (timers_ == nullptr) return core::fail(core::ErrorCode::kClosed, "no host runs this engine");
  if (!timers_open_.load(std::memory_order_acquire)) {
    return core::fail(core::ErrorCode::kClosed,
                      fmt::format("timer '{}': set timers in begin(), not start()", name));
  }
  return {};
}

core::Result<TimerId> EngineContext::set_timer_at(std::string_view name, core::UnixNanos at,
                                                  TimerCallback fn) {
  if (auto ok = timers_usable(name); !ok) return std::unexpected(ok.error());
  return timers_->add(slot_, std::string(name), at, std::chrono::nanoseconds(0), std::move(fn));
}

core::Result<TimerId> EngineContext::set_timer_every(std::string_view name,
                                                     std::chrono::nanoseconds interval,
                                                     TimerCallback fn) {
  if (auto ok = timers_usable(name); !ok) return std::unexpected(ok.error());
  if (interval.count() <= 0) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("timer '{}': the interval must be positive", name));
  }
  return timers_->add(slot_, std::string(name), clock().now() + interval.count(), interval,
                      std::move(fn));
}

void EngineContext::cancel_timer(TimerId id) {
  if (timers_ != nullptr) timers_->cancel(id);
}

core::Result<bus::SubscriptionId> EngineContext::subscribe(std::string_view pattern,
                                                           bus::Handler handler,
                                                           bus::OverflowPolicy policy) {
  // kBlock waits up to kEngineBlockBound; the other policies keep the bus's short bound (which
  // applies to their FLASH_CRASH and URGENT messages). A deterministic host runs publisher and
  // consumer on one thread: waiting for room there cannot help, so a full lane drops at once
  // (counted).
  bus::SubscribeOptions o{.mailbox = mailbox_, .policy = policy, .owner = name_};
  if (policy == bus::OverflowPolicy::kBlock) o.block_bound = kEngineBlockBound;
  if (simulated_) o.block_bound = std::chrono::nanoseconds(0);
  auto id = bus_->subscribe(pattern, std::move(handler), std::move(o));
  if (id) subscriptions_.push_back(*id);
  return id;
}

core::Result<bus::SubscriptionId> EngineContext::serve(std::string_view endpoint,
                                                       bus::Handler handler) {
  // Requests queue on the engine's own mailbox (its thread), removed when the engine stops.
  bus::SubscribeOptions o{.mailbox = mailbox_, .owner = name_};
  if (simulated_) o.block_bound = std::chrono::nanoseconds(0);
  auto id = bus_->register_endpoint(endpoint, std::move(handler), std::move(o));
  if (id) subscriptions_.push_back(*id);
  return id;
}

core::Result<bus::Publisher> EngineContext::publisher() { return bus_->publisher(name_); }

}  // namespace nautilus::engine
