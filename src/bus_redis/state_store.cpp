#include "nautilus/bus_redis/state_store.hpp"

#include <fmt/format.h>

namespace nautilus::bus_redis {
namespace {

constexpr std::chrono::milliseconds kTimeout{2'000};

}  // namespace

core::Result<std::unique_ptr<RedisStateStore>> RedisStateStore::connect(
    const config::RedisEndpoint& endpoint) {
  auto c = RedisClient::connect(endpoint, kTimeout);
  if (!c) {
    return core::fail(c.error().code,
                      fmt::format("state store (main Redis): {}", c.error().message));
  }
  return std::unique_ptr<RedisStateStore>(new RedisStateStore(endpoint, std::move(*c)));
}

core::Result<RedisClient*> RedisStateStore::client() {
  if (!client_ || !client_->healthy()) {
    client_.reset();
    auto c = RedisClient::connect(endpoint_, kTimeout);
    if (!c) return std::unexpected(c.error());
    client_.emplace(std::move(*c));
  }
  return &*client_;
}

core::Result<void> RedisStateStore::save(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  NAUTILUS_TRY(c, client());
  const std::string k = fmt::format("{}{}", kStatePrefix, key);
  auto r = c->pipeline_views({{"SET", k, value}});
  if (!r) return std::unexpected(r.error());
  if (r->front().is_error()) {
    return core::fail(core::ErrorCode::kIo, fmt::format("SET {}: {}", k, r->front().str));
  }
  return {};
}

core::Result<std::optional<std::string>> RedisStateStore::load(std::string_view key) {
  std::lock_guard lock(mu_);
  NAUTILUS_TRY(c, client());
  const std::string k = fmt::format("{}{}", kStatePrefix, key);
  auto r = c->command({"GET", k});
  if (!r) return std::unexpected(r.error());
  if (r->is_error()) return core::fail(core::ErrorCode::kIo, fmt::format("GET {}: {}", k, r->str));
  if (r->type == RedisReply::Type::kNil) return std::optional<std::string>{};
  return std::optional<std::string>(std::move(r->str));
}

}  // namespace nautilus::bus_redis
