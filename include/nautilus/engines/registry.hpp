// The engines this build has, by name: `nautilus engine <name>` and `nautilus run` look them
// up here. Only engines that really exist are registered; there are no placeholders.
//
//   const auto* e = engines::find_engine("marketdata");
//   std::unique_ptr<engine::Engine> m = e->create();
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "nautilus/engine/engine.hpp"

namespace nautilus::engines {

struct EngineEntry {
  std::string_view name;
  std::uint16_t default_port;
  std::string_view description;
  std::function<std::unique_ptr<engine::Engine>()> create;
};

// Every engine in this build, in SPEC §2 port order.
[[nodiscard]] std::span<const EngineEntry> available_engines();
[[nodiscard]] const EngineEntry* find_engine(std::string_view name);

}  // namespace nautilus::engines
