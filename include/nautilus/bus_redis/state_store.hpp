// The engines' state store on the Redis bus: one string per key in the main Redis, under
// `nautilus:state:<key>`, written with SET (the latest save wins) and read with GET. One
// connection, shared under a lock; a broken connection is replaced on the next call, so a Redis
// restart costs the saves made while it was away (they fail with the reason), not the engine.
//
//   auto store = bus_redis::RedisStateStore::connect(cfg.main);
//   host_options.state_store = store->get();
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/engine/state_store.hpp"

namespace nautilus::bus_redis {

inline constexpr std::string_view kStatePrefix = "nautilus:state:";

class RedisStateStore final : public engine::StateStore {
 public:
  // Connects once now, so that a wrong address is an error at start-up.
  [[nodiscard]] static core::Result<std::unique_ptr<RedisStateStore>> connect(
      const config::RedisEndpoint& endpoint);

  [[nodiscard]] core::Result<void> save(std::string_view key, std::string_view value) override;
  [[nodiscard]] core::Result<std::optional<std::string>> load(std::string_view key) override;

 private:
  RedisStateStore(config::RedisEndpoint endpoint, RedisClient client)
      : endpoint_(std::move(endpoint)), client_(std::move(client)) {}
  [[nodiscard]] core::Result<RedisClient*> client();

  config::RedisEndpoint endpoint_;
  std::mutex mu_;
  std::optional<RedisClient> client_;
};

}  // namespace nautilus::bus_redis
