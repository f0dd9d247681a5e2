// KeyClient: the main Redis as the registry and the state snapshots use it, either one server
// or a Redis Cluster ([redis.main] cluster = [...], REDIS_CLUSTER). A command goes to the
// server, or to the master of its key's slot (ClusterClient routes it and follows MOVED/ASK);
// nodes() gives the server, or every master, for commands about a node's own keys (SCAN).
// Synchronous, for one thread, like the clients it wraps.
//
//   auto c = KeyClient::connect(cfg.main, std::chrono::seconds(2));
//   auto r = c->command({"HGETALL", "nautilus:engines:risk:host-1"});   // key at index 1
//   for (RedisClient* node : *c->nodes()) { ... node->command({"SCAN", cursor, ...}) ... }
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis {

class KeyClient {
 public:
  KeyClient(KeyClient&&) noexcept;
  KeyClient& operator=(KeyClient&&) noexcept;
  ~KeyClient();

  // Connects within `connect_timeout` (on a cluster: each node's connection); commands then
  // wait up to `command_timeout`.
  [[nodiscard]] static core::Result<KeyClient> connect(
      const config::RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
      std::chrono::milliseconds command_timeout = std::chrono::milliseconds(0));

  [[nodiscard]] core::Result<RedisReply> command(const std::vector<std::string>& args,
                                                 std::size_t key_index = 1);
  // Replies in the commands' order (on a cluster, pipelined per master).
  [[nodiscard]] core::Result<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands, std::size_t key_index = 1);
  // The server, or every master in slot order; empty with an error when a master does not
  // answer (a listing that skipped one would be silently short).
  [[nodiscard]] core::Result<std::vector<RedisClient*>> nodes();
  // False once a command failed below the protocol (a broken connection, a cluster with no
  // master for the slot): callers drop the client and connect again later.
  [[nodiscard]] bool healthy() const noexcept;
  [[nodiscard]] bool is_cluster() const noexcept;

 private:
  struct Impl;
  explicit KeyClient(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::bus_redis
