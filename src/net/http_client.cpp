#include "nautilus/net/http_client.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>

namespace nautilus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

core::Result<Url> parse_url(std::string_view url) {
  Url u;
  if (url.starts_with("https://")) {
    u.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("url must start with http:// or https://: '{}'", url));
  }
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    u.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(u.port.data(), u.port.data() + u.port.size(), p);
    if (ec != std::errc() || end != u.port.data() + u.port.size() || p == 0 || p > 65535) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("bad port in url: '{}'", u.port));
    }
  } else {
    u.port = u.tls ? "443" : "80";
  }
  if (authority.empty()) return core::fail(core::ErrorCode::kInvalidArgument, "url has no host");
  u.host = std::string(authority);
  return u;
}

namespace {

// Beast's stream deadlines apply to asynchronous operations only, so each step runs
// asynchronously on a private io_context until it completes or its deadline passes.
template <class Start>
beast::error_code run_step(asio::io_context& ioc, Start start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

// What goes out: GET, or POST with a body.
struct Outgoing {
  http::verb verb = http::verb::get;
  std::string_view body;
  std::string_view content_type;
};

template <class Stream>
core::Result<ClientResponse> exchange(asio::io_context& ioc, Stream& stream,
                                      beast::tcp_stream& lowest, const Url& u,
                                      const ClientOptions& o, const Outgoing& out,
                                      std::chrono::steady_clock::time_point deadline) {
  http::request<http::string_body> req{out.verb, u.target, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, o.user_agent);
  req.set(http::field::accept, o.accept);
  for (const auto& [name, value] : o.headers) req.set(name, value);
  if (out.verb != http::verb::get) {
    req.set(http::field::content_type, out.content_type);
    req.body() = std::string(out.body);
    req.prepare_payload();
  }
  lowest.expires_at(deadline);
  beast::error_code ec =
      run_step(ioc, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  if (ec == beast::error::timeout) {
    return core::fail(core::ErrorCode::kTimeout, fmt::format("{}: timed out", u.host));
  }
  if (ec)
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: write: {}", u.host, ec.message()));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_body_bytes);
  ec = run_step(
      ioc, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec == beast::error::timeout) {
    return core::fail(core::ErrorCode::kTimeout, fmt::format("{}: timed out", u.host));
  }
  if (ec == http::error::body_limit) {
    return core::fail(
        core::ErrorCode::kCapacity,
        fmt::format("{}: response body over the {}-byte limit", u.host, o.max_body_bytes));
  }
  if (ec)
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: read: {}", u.host, ec.message()));
  auto res = parser.release();
  ClientResponse result;
  result.status = static_cast<int>(res.result_int());
  result.content_type = std::string(res[http::field::content_type]);
  if (auto ra = res[http::field::retry_after]; !ra.empty()) {
    unsigned secs = 0;
    if (std::from_chars(ra.data(), ra.data() + ra.size(), secs).ec == std::errc()) {
      result.retry_after = std::chrono::seconds(secs);
    }
  }
  result.location = std::string(res[http::field::location]);
  result.body = std::move(res.body());
  return result;
}

core::Result<ClientResponse> send(std::string_view url, const ClientOptions& o,
                                  const Outgoing& out) {
  auto u = parse_url(url);
  if (!u) return std::unexpected(u.error());
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  asio::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(u->host, u->port, ec);
  if (ec) {
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: resolve: {}", u->host, ec.message()));
  }
  if (!u->tls) {
    beast::tcp_stream stream(ioc);
    stream.expires_at(deadline);
    ec = run_step(ioc, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      return core::fail(core::ErrorCode::kIo,
                        fmt::format("{}:{}: connect: {}", u->host, u->port, ec.message()));
    }
    return exchange(ioc, stream, stream, *u, o, out, deadline);
  }
  ssl::context ctx(ssl::context::tls_client);
  (void)ctx.set_default_verify_paths(ec);
  if (!o.ca_file.empty()) {
    (void)ctx.load_verify_file(o.ca_file, ec);
    if (ec) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("ca_file {}: {}", o.ca_file, ec.message()));
    }
  }
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), u->host.c_str())) {
    return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot set SNI", u->host));
  }
  stream.set_verify_callback(ssl::host_name_verification(u->host));
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_at(deadline);
  ec = run_step(ioc, [&](auto handler) { lowest.async_connect(endpoints, std::move(handler)); });
  if (ec) {
    return core::fail(core::ErrorCode::kIo,
                      fmt::format("{}:{}: connect: {}", u->host, u->port, ec.message()));
  }
  ec = run_step(ioc, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    return core::fail(core::ErrorCode::kIo,
                      fmt::format("{}: TLS handshake: {}", u->host, ec.message()));
  }
  return exchange(ioc, stream, lowest, *u, o, out, deadline);
}

}  // namespace

core::Result<ClientResponse> http_fetch(std::string_view url, const ClientOptions& o) {
  return send(url, o, {});
}

core::Result<ClientResponse> http_post(std::string_view url, std::string_view body,
                                       std::string_view content_type, const ClientOptions& o) {
  return send(url, o, {.verb = http::verb::post, .body = body, .content_type = content_type});
}

}  // namespace nautilus::net
