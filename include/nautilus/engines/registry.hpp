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

// An engine as the registry knows it: everything about it comes from its own EngineInfo,
// written once in the engine's folder.
struct EngineEntry {
  const engine::EngineInfo& (*info)();
  std::unique_ptr<engine::Engine> (*create)();

  [[nodiscard]] std::string_view name() const { return info().name; }
  [[nodiscard]] std::uint16_t default_port() const { return info().default_port; }
  [[nodiscard]] std::string_view description() const { return info().description; }
};

// Every engine in this build, in port order (docs/ENGINES.md).
[[nodiscard]] std::span<const EngineEntry> available_engines();
[[nodiscard]] const EngineEntry* find_engine(std::string_view name);

}  // namespace nautilus::engines
