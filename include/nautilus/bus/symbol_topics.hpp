// SymbolTopics: one topic family's per-symbol topics ("order.new.<symbol>"), each resolved
// once and kept. An engine publishing per symbol on every bar would otherwise format the name
// and look it up by string each time (a tenth of a backtest's time before this existed).
//
//   bus::SymbolTopics orders(ctx.bus(), "order.new");
//   if (auto t = orders.get(order.symbol)) publisher.publish(**t, order);
//   // "order.new.AAPL", resolved on the first call for AAPL, a pointer lookup afterwards
//   (void)orders.publish(publisher, order.symbol, order);  // the same in one call
//
// Like a Publisher, it belongs to one thread (the engine's).
#pragma once

#include <string>
#include <unordered_map>
#include <utility>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::bus {

class SymbolTopics {
 public:
  // `prefix` without the trailing dot; `suffix` (e.g. ".bar") follows the symbol when given.
  SymbolTopics(MessageBus& bus, std::string prefix, std::string suffix = {});

  // The topic "<prefix>.<symbol><suffix>"; the handle stays valid as long as this object. An
  // error (the name is not a valid topic) is returned each time and not kept.
  [[nodiscard]] core::Result<TopicHandle*> get(core::Symbol symbol);
  // Publishes `msg` on the symbol's topic through `pub` (the same thread's Publisher).
  template <Message T>
  core::Result<PublishStatus> publish(Publisher& pub, core::Symbol symbol, T msg,
                                      const PublishOptions& o = {}) {
    auto t = get(symbol);
    if (!t) return std::unexpected(t.error());
    return pub.publish(**t, std::move(msg), o);
  }

 private:
  MessageBus* bus_;
  std::string prefix_;
  std::string suffix_;
  // Symbols are interned (hashed by address) and bounded, so the map is too. Node-based:
  // the handles it gives out do not move when it grows.
  std::unordered_map<core::Symbol, TopicHandle> handles_;
};

}  // namespace nautilus::bus
