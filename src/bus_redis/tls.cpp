// TLS for RedisClient (tls.hpp): OpenSSL contexts cached per settings, the handshake with
// certificate and host name verification, and blocking reads and writes bounded by the
// socket's timeouts.
#include "tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <tuple>

namespace nautilus::bus_redis::detail {
namespace {

using core::ErrorCode;
using core::fail;

// The queued OpenSSL errors as one line (and the queue emptied).
std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

using Key = std::tuple<std::string, std::string, std::string>;  // ca, cert, key

}  // namespace

core::Result<std::shared_ptr<SSL_CTX>> tls_context(const config::TlsSettings& tls) {
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<SSL_CTX>> cache;
  const Key key{tls.ca_file, tls.cert_file, tls.key_file};
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return fail(ErrorCode::kInternal, "redis tls: SSL_CTX_new: " + openssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const bool cas = tls.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                                       : SSL_CTX_load_verify_locations(
                                             ctx.get(), tls.ca_file.c_str(), nullptr) == 1;
  if (!cas) {
    return fail(ErrorCode::kInvalidArgument,
                "redis tls: cannot load the CA certificates " +
                    (tls.ca_file.empty() ? std::string("of the system") : "'" + tls.ca_file + "'") +
                    ": " + openssl_errors());
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
      return fail(ErrorCode::kInvalidArgument, "redis tls: cannot load the client certificate '" +
                                                   tls.cert_file + "': " + openssl_errors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      return fail(ErrorCode::kInvalidArgument, "redis tls: cannot use the client key '" +
                                                   tls.key_file + "': " + openssl_errors());
    }
  }
  cache.emplace(key, ctx);
  return ctx;
}

TlsSession::TlsSession(std::shared_ptr<SSL_CTX> ctx, SSL* ssl) noexcept
    : ctx_(std::move(ctx)), ssl_(ssl) {}

TlsSession::~TlsSession() {
  // No close_notify: the socket is hiredis's and closes with its context; Redis does not
  // need one, and a dead peer must not make a destructor wait.
  SSL_free(ssl_);
}

core::Result<std::unique_ptr<TlsSession>> TlsSession::handshake(std::shared_ptr<SSL_CTX> ctx,
                                                                int fd, const std::string& host,
                                                                const config::TlsSettings& tls) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx.get());
  if (ssl == nullptr) return fail(ErrorCode::kInternal, "redis tls: SSL_new: " + openssl_errors());
  std::unique_ptr<TlsSession> s(new TlsSession(std::move(ctx), ssl));
  const std::string& name = tls.server_name.empty() ? host : tls.server_name;
  in6_addr ip{};
  const bool is_ip =
      ::inet_pton(AF_INET, name.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, name.c_str(), &ip) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  // An address is matched against the certificate's IP entries, a name against its DNS ones
  // (and sent as SNI).
  const bool named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1
                           : SSL_set1_host(ssl, name.c_str()) == 1 &&
                                 SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
  if (!named || SSL_set_fd(ssl, fd) != 1) {
    return fail(ErrorCode::kInternal, "redis tls: setting up: " + openssl_errors());
  }
  errno = 0;  // a stale EAGAIN must not turn a refusal into a "timed out"
  if (const int rc = SSL_connect(ssl); rc != 1) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string("TLS handshake: certificate verify failed: ") +
                      X509_verify_cert_error_string(verify) + " (checked for '" + name + "')");
    }
    const int e = SSL_get_error(ssl, rc);
    const bool timeout = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
                         (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
    return fail(timeout ? ErrorCode::kTimeout : ErrorCode::kClosed,
                "TLS handshake: " + (timeout ? std::string("timed out") : openssl_errors()));
  }
  return s;
}

std::string TlsSession::protocol() const { return SSL_get_version(ssl_); }

core::Result<void> TlsSession::write_all(const char* data, std::size_t n) {
  while (n > 0) {
    ERR_clear_error();
    const int w = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
    if (w <= 0) {
      const int e = SSL_get_error(ssl_, w);
      const bool timeout = e == SSL_ERROR_WANT_WRITE ||
                           (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
      return fail(timeout ? ErrorCode::kTimeout : ErrorCode::kClosed,
                  timeout ? "TLS write: timed out" : "TLS write: " + openssl_errors());
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

core::Result<std::size_t> TlsSession::read_some(char* data, std::size_t capacity) {
  ERR_clear_error();
  const int r = SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(capacity, 1 << 30)));
  if (r > 0) return static_cast<std::size_t>(r);
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_ZERO_RETURN)
    return fail(ErrorCode::kClosed, "TLS read: server closed the connection");
  const bool timeout = e == SSL_ERROR_WANT_READ ||
                       (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
  if (timeout) return fail(ErrorCode::kTimeout, "TLS read: timed out");
  return fail(ErrorCode::kClosed, "TLS read: " + (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                                                      ? std::string("connection lost")
                                                      : openssl_errors()));
}

}  // namespace nautilus::bus_redis::detail
