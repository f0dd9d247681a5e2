// KeyClient (key_client.hpp): one RedisClient, or a ClusterClient and its masters.
#include "nautilus/bus_redis/key_client.hpp"

#include <fmt/format.h>

#include <optional>

#include "nautilus/bus_redis/cluster.hpp"

namespace nautilus::bus_redis {

struct KeyClient::Impl {
  std::optional<RedisClient> server;
  std::optional<ClusterClient> cluster;
  bool broken = false;  // a cluster command failed below the protocol

  template <class T>
  core::Result<T> noted(core::Result<T> r) {
    if (!r) broken = true;
    return r;
  }
};

KeyClient::KeyClient(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
KeyClient::KeyClient(KeyClient&&) noexcept = default;
KeyClient& KeyClient::operator=(KeyClient&&) noexcept = default;
KeyClient::~KeyClient() = default;

core::Result<KeyClient> KeyClient::connect(const config::RedisEndpoint& endpoint,
                                           std::chrono::milliseconds connect_timeout,
                                           std::chrono::milliseconds command_timeout) {
  if (command_timeout.count() == 0) command_timeout = connect_timeout;
  auto impl = std::make_unique<Impl>();
  if (endpoint.is_cluster()) {
    // A short failover wait: the caller's own retry (the registry's next beat, the state
    // store's backoff) does the waiting.
    auto c = ClusterClient::connect(seed_endpoints(endpoint),
                                    {.timeout = command_timeout,
                                     .connect_timeout = connect_timeout,
                                     .failover_wait = std::chrono::milliseconds(500),
                                     .username = endpoint.username,
                                     .password = endpoint.password,
                                     .tls = endpoint.tls});
    if (!c) return std::unexpected(c.error());
    impl->cluster.emplace(std::move(*c));
  } else {
    auto c = RedisClient::connect(endpoint, connect_timeout);
    if (!c) return std::unexpected(c.error());
    if (command_timeout != connect_timeout) {
      if (auto ok = c->set_timeout(command_timeout); !ok) return std::unexpected(ok.error());
    }
    impl->server.emplace(std::move(*c));
  }
  return KeyClient(std::move(impl));
}

core::Result<RedisReply> KeyClient::command(const std::vector<std::string>& args,
                                            std::size_t key_index) {
  if (impl_->server) return impl_->server->command(args);
  return impl_->noted(impl_->cluster->command(args, key_index));
}

core::Result<std::vector<RedisReply>> KeyClient::pipeline(
    const std::vector<std::vector<std::string>>& commands, std::size_t key_index) {
  if (impl_->server) return impl_->server->pipeline(commands);
  return impl_->noted(impl_->cluster->pipeline(commands, key_index));
}

core::Result<std::vector<RedisClient*>> KeyClient::nodes() {
  if (impl_->server) return std::vector<RedisClient*>{&*impl_->server};
  std::vector<RedisClient*> out;
  for (const auto& m : impl_->cluster->masters()) {
    RedisClient* c = impl_->cluster->node(m);
    if (c == nullptr) {
      impl_->broken = true;
      return core::fail(core::ErrorCode::kIo,
                        fmt::format("redis cluster: master {} does not answer", m.name()));
    }
    out.push_back(c);
  }
  return out;
}

bool KeyClient::healthy() const noexcept {
  return impl_->server ? impl_->server->healthy() : !impl_->broken;
}

bool KeyClient::is_cluster() const noexcept { return impl_->cluster.has_value(); }

}  // namespace nautilus::bus_redis
