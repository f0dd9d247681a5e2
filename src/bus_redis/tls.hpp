// TLS under a RedisClient: hiredis 0.14 has none, so the client keeps hiredis's command
// formatter and reply reader and moves the bytes itself, through OpenSSL over the socket
// hiredis connected. Private to bus_redis.
//
//   auto ctx = detail::tls_context(endpoint.tls);           // shared per settings
//   auto s = detail::TlsSession::handshake(**ctx, fd, endpoint.host, endpoint.tls);
//   s->write_all(bytes, n);  auto got = s->read_some(buf, sizeof buf);
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/error.hpp"

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace nautilus::bus_redis::detail {

// The OpenSSL context for these settings (CA, client certificate), made once and shared by
// every connection with the same settings: loading a CA bundle costs milliseconds.
// Errors name the file that could not be loaded.
[[nodiscard]] core::Result<std::shared_ptr<SSL_CTX>> tls_context(const config::TlsSettings& tls);

class TlsSession {
 public:
  // TLS 1.2+ over the connected socket `fd` (its SO_RCVTIMEO/SO_SNDTIMEO bound each step),
  // verifying the certificate chain and that it names `server_name`, else `host`. The error
  // says why the server was refused (e.g. "certificate verify failed: self-signed
  // certificate", "hostname mismatch").
  [[nodiscard]] static core::Result<std::unique_ptr<TlsSession>> handshake(
      std::shared_ptr<SSL_CTX> ctx, int fd, const std::string& host,
      const config::TlsSettings& tls);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // The protocol agreed on ("TLSv1.3").
  [[nodiscard]] std::string protocol() const;
  [[nodiscard]] core::Result<void> write_all(const char* data, std::size_t n);
  // At least one byte, or an error (kTimeout when the socket's timeout passed, kClosed when the
  // server closed the connection).
  [[nodiscard]] core::Result<std::size_t> read_some(char* data, std::size_t capacity);

 private:
  TlsSession(std::shared_ptr<SSL_CTX> ctx, SSL* ssl) noexcept;
  std::shared_ptr<SSL_CTX> ctx_;
  SSL* ssl_;
};

}  // namespace nautilus::bus_redis::detail
