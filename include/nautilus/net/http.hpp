// HTTP/1.1 server for the engines' REST endpoints, on Boost.Beast behind a pimpl so that only
// src/net compiles Beast and Asio.
//
//   net::Router r;
//   r.get("/vpin/{symbol}", [](const net::Request& q) {
//     return net::Response::json(fmt::format(R"({{"symbol":"{}"}})", q.param("symbol")));
//   });
//   auto server = net::HttpServer::start(std::move(r), {.port = 10000});
//   if (!server) ...;                 // e.g. the port is taken
//   (*server)->metrics().requests;
//
// Keep-alive, header/body size limits, an idle timeout between requests and a read timeout
// once a request has started (slowloris), 4xx for malformed requests. Routes registered as
// mutating need `Authorization: Bearer <token>` when a token is configured.
#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nautilus/core/error.hpp"

namespace nautilus::net {

class WebSocketService;  // websocket_server.hpp

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kOther };
[[nodiscard]] std::string_view to_string(Method m) noexcept;

struct Request {
  Method method = Method::kGet;
  std::string_view path;   // without the query
  std::string_view query;  // after '?', not decoded
  std::string_view body;
  std::string_view authorization;
  std::vector<std::pair<std::string_view, std::string_view>> params;  // from {name} segments

  // A route parameter ("" when absent).
  [[nodiscard]] std::string_view param(std::string_view name) const noexcept;
  // A query parameter, percent-decoded; nullopt when absent.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view key) const;
  // A count in the query (`?limit=20`): `dflt` when absent, at most `max`; an error naming the
  // parameter when it is not a whole number in [1, max] (answer it with a 400).
  [[nodiscard]] core::Result<std::size_t> query_count(std::string_view key, std::size_t dflt,
                                                      std::size_t max) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(std::string body, int status = 200);
  // The one way REST bodies are written: a Boost.JSON value (messages: value_from(msg), see
  // model/json.hpp) as text by core::to_json_text (doubles readable, NaN as null).
  static Response json(const boost::json::value& body, int status = 200);
  static Response text(std::string body, int status = 200);
  // {"error": message} with the status.
  static Response error(int status, std::string_view message);
};

using RouteHandler = std::function<Response(const Request&)>;

// `Authorization: Bearer <token>` holds `token`; compared in constant time.
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view token) noexcept;
// Percent-decoding of a query component ('+' is a space).
[[nodiscard]] std::string percent_decode(std::string_view s);

struct RouteInfo {
  Method method;
  std::string pattern;
  bool mutating;
};

// Paths are matched segment by segment; `{name}` matches one non-empty segment.
class Router {
 public:
  void get(std::string pattern, RouteHandler h) {
    add(Method::kGet, std::move(pattern), std::move(h));
  }
  void post(std::string pattern, RouteHandler h) {
    add(Method::kPost, std::move(pattern), std::move(h), true);
  }
  void put(std::string pattern, RouteHandler h) {
    add(Method::kPut, std::move(pattern), std::move(h), true);
  }
  void del(std::string pattern, RouteHandler h) {
    add(Method::kDelete, std::move(pattern), std::move(h), true);
  }
  void add(Method m, std::string pattern, RouteHandler h, bool mutating = false);
  // Handlers that may block (an upstream fetch) run on the server's worker pool, so that the
  // connection threads keep answering /health meanwhile.
  void get_blocking(std::string pattern, RouteHandler h);
  void post_blocking(std::string pattern, RouteHandler h);
  [[nodiscard]] bool has_blocking_routes() const;
  // Upgrade requests for `path` (exactly) become WebSocket connections of `service`; any other
  // request for it is answered by the routes.
  void websocket(std::string path, std::shared_ptr<WebSocketService> service);
  [[nodiscard]] WebSocketService* websocket_for(std::string_view path) const noexcept;

  [[nodiscard]] std::vector<RouteInfo> routes() const;

  enum class Outcome : std::uint8_t { kHandled, kNotFound, kMethodNotAllowed, kUnauthorized };
  struct Route;
  // The route for the request (its {params} filled in), or nullptr; `path_matched` tells 404
  // from 405. HEAD finds the GET route.
  const Route* find(Request& request, bool* path_matched) const;
  [[nodiscard]] static bool blocking(const Route* r) noexcept;
  // Checks the token for mutating routes (when `token` is not empty) and runs the handler;
  // with no route, the 404 or 405.
  Response run(const Route* route, bool path_matched, Request& request, std::string_view token,
               Outcome* outcome = nullptr) const;
  // find() then run().
  Response dispatch(Request& request, std::string_view token, Outcome* outcome = nullptr) const;

 private:
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, std::shared_ptr<WebSocketService>>> websockets_;
};

struct Router::Route {
  Method method;
  std::string pattern;
  std::vector<std::string> segments;
  bool mutating;
  RouteHandler handler;
  bool blocking = false;
};

struct ServerOptions {
  std::string bind = "127.0.0.1";  // loopback unless configured
  std::uint16_t port = 0;          // 0: any free port (see HttpServer::port())
  std::size_t threads = 1;
  std::size_t header_limit = std::size_t{8} * 1024;
  std::size_t body_limit = std::size_t{1024} * 1024;
  std::chrono::milliseconds idle_timeout{30'000};  // waiting for the next request
  std::chrono::milliseconds read_timeout{5'000};   // from a request's first byte to its end
  std::size_t max_connections = 4096;
  std::size_t blocking_threads = 2;  // for blocking routes; none are started without such routes
  std::string bearer_token;          // guards mutating routes when not empty
  // HTTPS (and wss:// for WebSocket services) instead of plain HTTP, when both are set: the
  // server's certificate chain and private key, PEM. TLS 1.2 or later.
  std::string tls_cert_file;
  std::string tls_key_file;
};

struct HttpMetrics {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t connections_rejected = 0;  // over max_connections
  std::uint64_t requests = 0;
  std::uint64_t responses_2xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t malformed = 0;             // unparseable request: 400
  std::uint64_t header_too_large = 0;      // 431
  std::uint64_t body_too_large = 0;        // 413
  std::uint64_t timeouts = 0;              // closed by the idle or read timeout
  std::uint64_t unauthorized = 0;          // 401
  std::uint64_t tls_handshake_failed = 0;  // HTTPS: a client that did not complete TLS
  std::uint64_t not_found = 0;             // 404 and 405
  std::uint64_t handler_errors = 0;        // a handler threw: 500
  // Prometheus text, each line labelled with engine="<engine>".
  [[nodiscard]] std::string to_prometheus(std::string_view engine) const;
};

class HttpServer {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<HttpServer>> start(Router router,
                                                                       ServerOptions options);
  ~HttpServer();  // stops accepting, closes connections, joins its threads
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] HttpMetrics metrics() const noexcept;
  void stop() noexcept;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::net
