// RedisStateStore (state_store.hpp): SET and GET in the main Redis (a server or a cluster), and the
// backoff between connection attempts while it is away.
#include "nautilus/bus_redis/state_store.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace nautilus::bus_redis {
namespace {

using core::ErrorCode;

constexpr std::string_view kWho = "state store (main Redis)";

// Opens a connection (to one server, or to a cluster's masters) with its command timeout.
core::Result<KeyClient> open(const config::RedisEndpoint& endpoint,
                             std::chrono::milliseconds connect_timeout,
                             std::chrono::milliseconds command_timeout) {
  return KeyClient::connect(endpoint, connect_timeout, command_timeout);
}

// Whole milliseconds until `t`, rounded up, so that a wait still running never reads "0 ms".
long long ms_until(core::UnixNanos t, core::UnixNanos now) {
  constexpr core::UnixNanos kMs = 1'000'000;
  return std::max<core::UnixNanos>(0, (t - now + kMs - 1) / kMs);
}

}  // namespace

RedisStateStore::RedisStateStore(config::RedisEndpoint endpoint, StateStoreOptions options,
                                 KeyClient client)
    : endpoint_(std::move(endpoint)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : core::realtime_clock()),
      client_(std::move(client)) {}

core::Result<std::unique_ptr<RedisStateStore>> RedisStateStore::connect(
    const config::RedisEndpoint& endpoint, StateStoreOptions options) {
  auto c = open(endpoint, options.connect_timeout, options.command_timeout);
  if (!c) return core::fail(c.error().code, fmt::format("{}: {}", kWho, c.error().message));
  return std::unique_ptr<RedisStateStore>(new RedisStateStore(endpoint, options, std::move(*c)));
}

std::uint64_t RedisStateStore::connect_attempts() const {
  std::lock_guard lock(mu_);
  return connect_attempts_;
}

core::Error RedisStateStore::failed(const core::Error& cause) {
  client_.reset();
  // The rule of the transport's detail::Backoff (backoff.hpp), which reads steady_clock itself;
  // here the clock is injected, so a test can step through the waits.
  delay_ =
      delay_.count() == 0 ? options_.initial_backoff : std::min(delay_ * 2, options_.max_backoff);
  failed_at_ = clock_.now();
  retry_at_ = failed_at_ + std::chrono::nanoseconds(delay_).count();
  last_error_ = cause.message;
  return core::Error{cause.code, fmt::format("{}: {}; next attempt in {} ms", kWho, cause.message,
                                             delay_.count())};
}

core::Error RedisStateStore::command_failed(const core::Error& cause) {
  // NOLINTNEXTLINE(bugprone-unchecked-optional-access): set by client() before every command
  if (!client_->healthy()) return failed(cause);
  return core::Error{cause.code, fmt::format("{}: {}", kWho, cause.message)};
}

core::Result<KeyClient*> RedisStateStore::client() {
  if (client_) return &*client_;  // healthy: failed() drops a connection as soon as it breaks
  const core::UnixNanos now = clock_.now();
  // A wall clock stepped back past the failure must not stretch the wait.
  if (now < retry_at_ && now >= failed_at_) {
    return core::fail(ErrorCode::kIo,
                      fmt::format("{}: not connected, next attempt in {} ms (last error: {})", kWho,
                                  ms_until(retry_at_, now), last_error_));
  }
  ++connect_attempts_;
  auto c = open(endpoint_, options_.reconnect_timeout, options_.command_timeout);
  if (!c) return std::unexpected(failed(c.error()));
  // The wait starts over only once a command has gone through (succeeded() below): something
  // that accepts connections while Redis is down must not earn the shortest wait each time.
  client_.emplace(std::move(*c));
  return &*client_;
}

core::Result<void> RedisStateStore::save(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  NAUTILUS_TRY(c, client());
  const std::string k = fmt::format("{}{}", kStatePrefix, key);
  auto r = c->command({"SET", k, std::string(value)});
  if (!r) return std::unexpected(command_failed(r.error()));
  delay_ = {};  // Redis answered
  if (r->is_error()) {
    return core::fail(ErrorCode::kIo, fmt::format("{}: SET {}: {}", kWho, k, r->str));
  }
  return {};
}

core::Result<std::optional<std::string>> RedisStateStore::load(std::string_view key) {
  std::lock_guard lock(mu_);
  NAUTILUS_TRY(c, client());
  const std::string k = fmt::format("{}{}", kStatePrefix, key);
  auto r = c->command({"GET", k});
  if (!r) return std::unexpected(command_failed(r.error()));
  delay_ = {};  // Redis answered
  if (r->is_error()) {
    return core::fail(ErrorCode::kIo, fmt::format("{}: GET {}: {}", kWho, k, r->str));
  }
  if (r->type == RedisReply::Type::kNil) return std::optional<std::string>{};
  return std::optional<std::string>(std::move(r->str));
}

}  // namespace nautilus::bus_redis
