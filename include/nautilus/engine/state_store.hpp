// Where an engine keeps the state it must find again after a restart (the portfolio's books
// and open orders): a key-value store the host hands to every engine. On the Redis bus it is
// the main Redis (bus_redis/state_store.hpp); on the in-process bus there is none, and an
// engine then starts empty, as a fresh process would.
//
//   if (engine::StateStore* s = ctx.state_store()) {
//     (void)s->save("portfolio", json_text);
//     auto saved = s->load("portfolio");   // Result<optional<string>>
//   }
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::engine {

class StateStore {
 public:
  virtual ~StateStore() = default;
  // Any thread may call these.
  [[nodiscard]] virtual core::Result<void> save(std::string_view key, std::string_view value) = 0;
  // nullopt when nothing was saved under `key`.
  [[nodiscard]] virtual core::Result<std::optional<std::string>> load(std::string_view key) = 0;
};

}  // namespace nautilus::engine
