// The engines' state store on the Redis bus: one string per key in the main Redis, under
// `nautilus:state:<key>`, written with SET (the latest save wins) and read with GET. One
// connection, shared under a lock.
//
// A Redis restart costs the saves made while it was away (they fail with the reason), not the
// engine, and must not stall the engine either: the portfolio saves on its own thread after
// every batch of fills. So once a connect fails or the connection breaks, the store waits out a
// backoff (100 ms, doubling to 5 s, back to 100 ms after a success) before it tries again, and
// every call made during the wait fails at once with kIo, touching no socket; its message names
// the main Redis, the last error and when the next attempt is due. A reconnect then gets 500 ms
// to connect, not the 2 s the first connect at start-up gets, since it runs on an engine's
// thread. The snapshot saved next carries the whole state, so nothing is lost for good but the
// time Redis was away.
//
//   auto store = bus_redis::RedisStateStore::connect(cfg.main);
//   host_options.state_store = store->get();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "nautilus/bus_redis/key_client.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/clock.hpp"
#include "nautilus/engine/state_store.hpp"

namespace nautilus::bus_redis {

inline constexpr std::string_view kStatePrefix = "nautilus:state:";

struct StateStoreOptions {
  std::chrono::milliseconds connect_timeout{2'000};  // the first connect, at start-up
  std::chrono::milliseconds reconnect_timeout{500};  // each later one, on an engine's thread
  std::chrono::milliseconds command_timeout{2'000};  // a SET or GET on an open connection
  std::chrono::milliseconds initial_backoff{100};    // the wait after the first failure
  std::chrono::milliseconds max_backoff{5'000};      // doubled after each further one, to this
  // What the backoff is timed by; core::realtime_clock() when null. A test steps a
  // SimulatedClock through the waits instead of sleeping them.
  const core::Clock* clock = nullptr;
};

class RedisStateStore final : public engine::StateStore {
 public:
  // Connects once now, so that a wrong address is an error at start-up.
  [[nodiscard]] static core::Result<std::unique_ptr<RedisStateStore>> connect(
      const config::RedisEndpoint& endpoint, StateStoreOptions options = {});

  [[nodiscard]] core::Result<void> save(std::string_view key, std::string_view value) override;
  [[nodiscard]] core::Result<std::optional<std::string>> load(std::string_view key) override;

  // How many connections it has tried to open, the first one included: a call refused during
  // the backoff does not count, since it tries none.
  [[nodiscard]] std::uint64_t connect_attempts() const;

 private:
  RedisStateStore(config::RedisEndpoint endpoint, StateStoreOptions options, KeyClient client);
  // The open connection, or a new one if the backoff allows an attempt now.
  [[nodiscard]] core::Result<KeyClient*> client();
  // Drops the connection after `cause` (a failed connect, or a command on a connection that
  // broke), starts the next wait, and returns `cause` worded for the caller.
  [[nodiscard]] core::Error failed(const core::Error& cause);
  // The error of a command: a broken connection starts the backoff, a server's error reply on a
  // sound one does not.
  [[nodiscard]] core::Error command_failed(const core::Error& cause);

  const config::RedisEndpoint endpoint_;
  const StateStoreOptions options_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::optional<KeyClient> client_;
  std::uint64_t connect_attempts_ = 1;  // the one connect() made
  // The backoff, on clock_: zero delay_ since the last success.
  std::chrono::milliseconds delay_{};
  core::UnixNanos failed_at_ = 0;
  core::UnixNanos retry_at_ = 0;
  std::string last_error_;
};

}  // namespace nautilus::bus_redis
