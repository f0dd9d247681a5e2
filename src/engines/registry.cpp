#include "nautilus/engines/registry.hpp"

#include <array>

#include "nautilus/engines/analytics/engine.hpp"
#include "nautilus/engines/backtesting/engine.hpp"
#include "nautilus/engines/collateral/engine.hpp"
#include "nautilus/engines/enhanced_vpin/engine.hpp"
#include "nautilus/engines/factor/engine.hpp"
#include "nautilus/engines/features/engine.hpp"
#include "nautilus/engines/ml/engine.hpp"
#include "nautilus/engines/portfolio/engine.hpp"
#include "nautilus/engines/risk/engine.hpp"
#include "nautilus/engines/strategy/engine.hpp"
#include "nautilus/engines/toraniko/engine.hpp"
#include "nautilus/engines/vpin/engine.hpp"
#include "nautilus/engines/websocket/engine.hpp"
#include "nautilus/marketdata/engine.hpp"

namespace nautilus::engines {
namespace {

// Each engine is listed here once it really works; docs/ENGINES.md has the planned ones.
const std::array<EngineEntry, 14> kEngines = {{
    {&marketdata::engine_info, &marketdata::make_engine},
    {&features::engine_info, &features::make_engine},
    {&factor::engine_info, &factor::make_engine},
    {&ml::engine_info, &ml::make_engine},
    {&vpin::engine_info, &vpin::make_engine},
    {&enhanced_vpin::engine_info, &enhanced_vpin::make_engine},
    {&toraniko::engine_info, &toraniko::make_engine},
    {&strategy::engine_info, &strategy::make_engine},
    {&risk::engine_info, &risk::make_engine},
    {&portfolio::engine_info, &portfolio::make_engine},
    {&collateral::engine_info, &collateral::make_engine},
    {&analytics::engine_info, &analytics::make_engine},
    {&backtesting::engine_info, &backtesting::make_engine},
    {&websocket::engine_info, &websocket::make_engine},
}};

}  // namespace

std::span<const EngineEntry> available_engines() { return kEngines; }

const EngineEntry* find_engine(std::string_view name) {
  for (const auto& e : kEngines) {
    if (e.name() == name) return &e;
  }
  return nullptr;
}

}  // namespace nautilus::engines
