// RedisClient: one synchronous Redis connection (hiredis 0.14, RESP2) for one I/O thread, with
// connect/command timeouts, AUTH (password or ACL user), SELECT, pipelining, and TLS when the
// endpoint asks for it (hiredis formats and parses; OpenSSL carries the bytes: tls.hpp). Error
// replies from the server come back as a RedisReply of type kError: the caller decides whether they
// are failures (BUSYGROUP is not). Connection problems are Errors (kClosed, kTimeout).
//
//   auto c = RedisClient::connect(cfg.logic, std::chrono::seconds(2));
//   auto pong = c->command({"PING"});
//   auto replies = c->pipeline({{"XADD", "s", "*", "d", bytes}, {"XLEN", "s"}});
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/error.hpp"

struct redisContext;

namespace nautilus::bus_redis {
namespace detail {
class TlsSession;
}

// An owned copy of a server reply.
struct RedisReply {
  enum class Type : std::uint8_t { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;                   // kString, kStatus, kError
  long long integer = 0;             // kInteger
  std::vector<RedisReply> elements;  // kArray

  [[nodiscard]] bool is_error() const noexcept { return type == Type::kError; }
  // True for an error reply whose code (first word) is `code`, e.g. "BUSYGROUP".
  [[nodiscard]] bool is_error(std::string_view code) const noexcept;
};

class RedisClient {
 public:
  RedisClient(RedisClient&&) noexcept;
  RedisClient& operator=(RedisClient&&) noexcept;
  ~RedisClient();

  [[nodiscard]] static core::Result<RedisClient> connect(const config::RedisEndpoint& endpoint,
                                                         std::chrono::milliseconds timeout);

  [[nodiscard]] core::Result<RedisReply> command(std::initializer_list<std::string_view> args);
  [[nodiscard]] core::Result<RedisReply> command(const std::vector<std::string>& args);
  // Sends all commands, then reads all replies: one round trip for the lot.
  [[nodiscard]] core::Result<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // The same for arguments that live elsewhere (large payloads are not copied before hiredis
  // formats them).
  [[nodiscard]] core::Result<std::vector<RedisReply>> pipeline_views(
      const std::vector<std::vector<std::string_view>>& commands);
  // The two halves of a round trip, for a caller that works while Redis answers: send()
  // writes the commands out; receive() then reads one reply per command, in order. Nothing
  // else may use the connection in between.
  [[nodiscard]] core::Result<void> send(const std::vector<std::vector<std::string>>& commands);
  // send() for arguments that live elsewhere; hiredis has copied them when it returns.
  [[nodiscard]] core::Result<void> send_views(
      const std::vector<std::vector<std::string_view>>& commands);
  // send_views() in two steps, so commands formatted for several callers leave in one write:
  // queue_views() formats (and copies) them, flush() writes out all that is queued. receive()
  // flushes first as well, so a reply is never waited for behind a command not yet sent.
  [[nodiscard]] core::Result<void> queue_views(
      const std::vector<std::vector<std::string_view>>& commands);
  [[nodiscard]] core::Result<void> flush();
  [[nodiscard]] core::Result<RedisReply> receive() { return read_reply(); }

  // Socket read/write timeout; a blocking command (XREADGROUP BLOCK) needs more than its block.
  [[nodiscard]] core::Result<void> set_timeout(std::chrono::milliseconds timeout);
  // False once the connection has failed; the client must then be replaced.
  [[nodiscard]] bool healthy() const noexcept;
  [[nodiscard]] const config::RedisEndpoint& endpoint() const noexcept { return endpoint_; }
  [[nodiscard]] bool is_tls() const noexcept { return tls_ != nullptr; }
  // The TLS protocol agreed on ("TLSv1.3"); empty for a plaintext connection.
  [[nodiscard]] std::string tls_protocol() const;

 private:
  RedisClient(redisContext* ctx, config::RedisEndpoint endpoint) noexcept;
  core::Result<RedisReply> read_reply();
  core::Error connection_error(std::string_view doing) const;
  // Over TLS: writes what hiredis has formatted; a failure marks the connection failed.
  core::Result<void> tls_flush();
  core::Error tls_failed(std::string_view doing, const core::Error& cause);

  redisContext* ctx_ = nullptr;
  config::RedisEndpoint endpoint_;
  std::unique_ptr<detail::TlsSession> tls_;  // null for a plaintext connection
};

}  // namespace nautilus::bus_redis
