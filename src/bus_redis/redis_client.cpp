#include "nautilus/bus_redis/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <cerrno>
#include <csignal>
#include <mutex>
#include <utility>

namespace nautilus::bus_redis {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

void append(redisContext* ctx, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data());
}

}  // namespace

bool RedisReply::is_error(std::string_view code) const noexcept {
  if (type != Type::kError) return false;
  return str.size() >= code.size() && std::string_view(str).substr(0, code.size()) == code &&
         (str.size() == code.size() || str[code.size()] == ' ');
}

RedisClient::RedisClient(redisContext* ctx, config::RedisEndpoint endpoint) noexcept
    : ctx_(ctx), endpoint_(std::move(endpoint)) {}

RedisClient::RedisClient(RedisClient&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), endpoint_(std::move(o.endpoint_)) {}

RedisClient& RedisClient::operator=(RedisClient&& o) noexcept {
  if (this != &o) {
    if (ctx_) redisFree(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    endpoint_ = std::move(o.endpoint_);
  }
  return *this;
}

RedisClient::~RedisClient() {
  if (ctx_) redisFree(ctx_);
}

core::Error RedisClient::connection_error(std::string_view doing) const {
  const bool timeout =
      ctx_ && ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
  std::string msg = "redis " + endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " +
                    std::string(doing) + ": " + (ctx_ ? std::string(ctx_->errstr) : "no context");
  return core::Error{timeout ? ErrorCode::kTimeout : ErrorCode::kClosed, std::move(msg)};
}

Result<RedisClient> RedisClient::connect(const config::RedisEndpoint& ep,
                                         std::chrono::milliseconds timeout) {
  // hiredis writes with write(2): a write to a server that died (kill -9 of a cluster master
  // mid-stream, found by the cluster transport test) raised SIGPIPE and killed the whole
  // process. Ignored once per process, the write fails with EPIPE instead and the caller
  // reconnects. (Beast and Asio send with MSG_NOSIGNAL and do not care either way.)
  static std::once_flag no_sigpipe;
  std::call_once(no_sigpipe, [] { (void)std::signal(SIGPIPE, SIG_IGN); });
  if (ep.is_cluster()) {
    // Its host and port are not the cluster's: connecting there would talk to some other
    // server (the default 127.0.0.1:6379) as if it were this one.
    return fail(ErrorCode::kInvalidArgument, "redis: that endpoint is a Redis Cluster (seed " +
                                                 ep.cluster.front().host + ":" +
                                                 std::to_string(ep.cluster.front().port) +
                                                 "), and this use of it needs one Redis server");
  }
  const timeval tv = to_timeval(timeout);
  redisContext* ctx = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
  if (ctx == nullptr) return fail(ErrorCode::kInternal, "redis: out of memory");
  RedisClient client(ctx, ep);
  if (ctx->err) return std::unexpected(client.connection_error("connect"));
  if (auto ok = client.set_timeout(timeout); !ok) return std::unexpected(ok.error());
  if (!ep.password.empty()) {
    auto r = ep.username.empty() ? client.command({"AUTH", ep.password})
                                 : client.command({"AUTH", ep.username, ep.password});
    if (!r) return std::unexpected(r.error());
    if (r->is_error()) {
      return fail(ErrorCode::kInvalidArgument,
                  "redis " + ep.host + ":" + std::to_string(ep.port) + ": AUTH refused: " + r->str);
    }
  }
  // Verify now, so a missing password or a non-Redis peer is a start-up error, not a
  // surprise on the first real command.
  auto pong = client.command({"PING"});
  if (!pong) return std::unexpected(pong.error());
  if (pong->is_error()) {
    return fail(ErrorCode::kInvalidArgument,
                "redis " + ep.host + ":" + std::to_string(ep.port) + ": " + pong->str +
                    (pong->is_error("NOAUTH") ? " (set REDIS_PASSWORD / [redis] password)" : ""));
  }
  if (ep.db != 0) {
    auto r = client.command({"SELECT", std::to_string(ep.db)});
    if (!r) return std::unexpected(r.error());
    if (r->is_error()) {
      return fail(ErrorCode::kInvalidArgument,
                  "redis SELECT " + std::to_string(ep.db) + ": " + r->str);
    }
  }
  return client;
}

Result<void> RedisClient::set_timeout(std::chrono::milliseconds timeout) {
  if (redisSetTimeout(ctx_, to_timeval(timeout)) != REDIS_OK) {
    return std::unexpected(connection_error("set timeout"));
  }
  return {};
}

bool RedisClient::healthy() const noexcept { return ctx_ != nullptr && ctx_->err == 0; }

Result<RedisReply> RedisClient::read_reply() {
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
    return std::unexpected(connection_error("read reply"));
  }
  auto* r = static_cast<redisReply*>(raw);
  RedisReply out = convert(r);
  freeReplyObject(r);
  return out;
}

Result<RedisReply> RedisClient::command(std::initializer_list<std::string_view> args) {
  if (!healthy()) return std::unexpected(connection_error("command on a failed connection"));
  append(ctx_, std::vector<std::string_view>(args));
  return read_reply();
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& args) {
  if (!healthy()) return std::unexpected(connection_error("command on a failed connection"));
  append(ctx_, std::vector<std::string_view>(args.begin(), args.end()));
  return read_reply();
}

Result<std::vector<RedisReply>> RedisClient::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::vector<std::string_view>> views;
  views.reserve(commands.size());
  for (const auto& c : commands) views.emplace_back(c.begin(), c.end());
  return pipeline_views(views);
}

Result<void> RedisClient::send(const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::vector<std::string_view>> views;
  views.reserve(commands.size());
  for (const auto& c : commands) views.emplace_back(c.begin(), c.end());
  return send_views(views);
}

Result<void> RedisClient::send_views(const std::vector<std::vector<std::string_view>>& commands) {
  if (!healthy()) return std::unexpected(connection_error("send on a failed connection"));
  for (const auto& c : commands) append(ctx_, c);
  int done = 0;
  while (!done) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
      return std::unexpected(connection_error("write"));
    }
  }
  return {};
}

Result<std::vector<RedisReply>> RedisClient::pipeline_views(
    const std::vector<std::vector<std::string_view>>& commands) {
  if (!healthy()) return std::unexpected(connection_error("pipeline on a failed connection"));
  for (const auto& c : commands) append(ctx_, c);
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto r = read_reply();
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace nautilus::bus_redis
