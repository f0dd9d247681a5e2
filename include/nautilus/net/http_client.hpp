// A blocking HTTP/1.1 client for the MarketData hub's outside sources: http:// and https://
// (OpenSSL, peer and host name verified against the system CAs, SNI), a deadline per request,
// a cap on the body size. Beast stays in src/net.
//
//   auto r = net::http_fetch("https://api.stlouisfed.org/fred/series/observations?...", {});
//   if (r && r->status == 200) parse(r->body);
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::net {

struct ClientOptions {
  std::chrono::milliseconds timeout{10'000};  // connect + TLS + request + response
  std::size_t max_body_bytes = std::size_t{64} * 1024 * 1024;
  std::string user_agent = "nautilus/0.1";
  std::string ca_file;  // extra trusted CA certificates (PEM), besides the system's
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::optional<std::chrono::seconds> retry_after;
};

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};
[[nodiscard]] core::Result<Url> parse_url(std::string_view url);

[[nodiscard]] core::Result<ClientResponse> http_fetch(std::string_view url,
                                                      const ClientOptions& options = {});

}  // namespace nautilus::net
