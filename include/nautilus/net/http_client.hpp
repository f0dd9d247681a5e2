// A blocking HTTP/1.1 client for the MarketData hub's outside sources: http:// and https://
// (OpenSSL, peer and host name verified against the system CAs, SNI), a deadline per request,
// a cap on the body size; GET, and POST with a body. Beast stays in src/net. Redirects are not
// followed: the caller sees the 3xx and its `location`, and decides whether the target is one
// it may fetch.
//
//   auto r = net::http_fetch("https://api.stlouisfed.org/fred/series/observations?...", {});
//   if (r && r->status == 200) parse(r->body);
//   auto p = net::http_post("https://api.bls.gov/publicAPI/v2/timeseries/data/",
//                           R"({"seriesid":["CUUR0000SA0"]})");
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::net {

struct ClientOptions {
  std::chrono::milliseconds timeout{10'000};  // connect + TLS + request + response
  std::size_t max_body_bytes = std::size_t{64} * 1024 * 1024;
  std::string user_agent = "nautilus/0.1";
  std::string ca_file;  // extra trusted CA certificates (PEM), besides the system's
  std::string accept = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given (an API key...)
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::optional<std::chrono::seconds> retry_after;
  std::string location;  // of a redirect (3xx), as sent
};

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};
[[nodiscard]] core::Result<Url> parse_url(std::string_view url);

// GET.
[[nodiscard]] core::Result<ClientResponse> http_fetch(std::string_view url,
                                                      const ClientOptions& options = {});

// POST of `body` with `content_type`.
[[nodiscard]] core::Result<ClientResponse> http_post(
    std::string_view url, std::string_view body, std::string_view content_type = "application/json",
    const ClientOptions& options = {});

}  // namespace nautilus::net
