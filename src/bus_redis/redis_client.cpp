#include "nautilus/bus_redis/redis_client.hpp"

// sds.h (hiredis's buffer strings), unlike hiredis.h, declares no C linkage itself, and
// hiredis.h includes it: it must come first, inside extern "C".
extern "C" {
#include <hiredis/sds.h>
}
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <utility>

#include "tls.hpp"

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
    : ctx_(std::exchange(o.ctx_, nullptr)),
      endpoint_(std::move(o.endpoint_)),
      tls_(std::move(o.tls_)) {}

RedisClient& RedisClient::operator=(RedisClient&& o) noexcept {
  if (this != &o) {
    tls_.reset();  // before the socket it runs over
    if (ctx_) redisFree(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    endpoint_ = std::move(o.endpoint_);
    tls_ = std::move(o.tls_);
  }
  return *this;
}

RedisClient::~RedisClient() {
  tls_.reset();
  if (ctx_) redisFree(ctx_);
}

core::Error RedisClient::tls_failed(std::string_view doing, const core::Error& cause) {
  ctx_->err = REDIS_ERR_IO;  // healthy() is false from here on, as after a plaintext failure
  std::snprintf(ctx_->errstr, sizeof ctx_->errstr, "%s", cause.message.c_str());
  return core::Error{cause.code, "redis " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
                                     ": " + std::string(doing) + ": " + cause.message};
}

std::string RedisClient::tls_protocol() const { return tls_ ? tls_->protocol() : std::string(); }

Result<void> RedisClient::tls_flush() {
  const std::size_t n = sdslen(ctx_->obuf);
  if (n == 0) return {};
  if (auto ok = tls_->write_all(ctx_->obuf, n); !ok) {
    return std::unexpected(tls_failed("write", ok.error()));
  }
  // As hiredis does once its buffer is out: a new empty one, so a large pipeline's buffer is
  // not kept.
  sdsfree(ctx_->obuf);
  ctx_->obuf = sdsempty();
  return {};
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
  if (ep.tls.enabled) {
    // The TCP connection hiredis made, then TLS over its socket (bounded by the timeout just
    // set); from here on hiredis only formats commands and parses replies.
    auto tls_ctx = detail::tls_context(ep.tls);
    if (!tls_ctx) return std::unexpected(tls_ctx.error());
    auto session = detail::TlsSession::handshake(*tls_ctx, ctx->fd, ep.host, ep.tls);
    if (!session) {
      return fail(session.error().code, "redis " + ep.host + ":" + std::to_string(ep.port) + ": " +
                                            session.error().message);
    }
    client.tls_ = std::move(*session);
  }
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
  if (!pong) {
    if (ep.tls.enabled || pong.error().code == ErrorCode::kTimeout) {
      return std::unexpected(pong.error());
    }
    // A TLS-only port drops a plaintext client's first command: say what that may mean.
    return fail(pong.error().code, pong.error().message +
                                       " (if that port speaks TLS only, set tls = true or "
                                       "REDIS_TLS=1)");
  }
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
  if (tls_) {
    // What redisGetReply does, with the bytes through TLS: out with what is formatted, then a
    // reply already parsed, else read and parse until one is whole.
    if (auto ok = tls_flush(); !ok) return std::unexpected(ok.error());
    while (true) {
      if (redisReaderGetReply(ctx_->reader, &raw) != REDIS_OK) {
        return std::unexpected(
            tls_failed("read reply",
                       {ErrorCode::kIo, "protocol error: " + std::string(ctx_->reader->errstr)}));
      }
      if (raw != nullptr) break;
      char buf[16 * 1024];
      auto got = tls_->read_some(buf, sizeof buf);
      if (!got) return std::unexpected(tls_failed("read reply", got.error()));
      if (redisReaderFeed(ctx_->reader, buf, *got) != REDIS_OK) {
        return std::unexpected(tls_failed("read reply", {ErrorCode::kIo, "reader buffer"}));
      }
    }
  } else if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
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
  if (auto queued = queue_views(commands); !queued) return queued;
  return flush();
}

Result<void> RedisClient::queue_views(const std::vector<std::vector<std::string_view>>& commands) {
  if (!healthy()) return std::unexpected(connection_error("send on a failed connection"));
  for (const auto& c : commands) append(ctx_, c);
  return {};
}

Result<void> RedisClient::flush() {
  if (!healthy()) return std::unexpected(connection_error("write on a failed connection"));
  if (tls_) return tls_flush();
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
