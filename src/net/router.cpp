#include <fmt/format.h>

#include <algorithm>
#include <boost/json/value.hpp>
#include <charconv>

#include "nautilus/core/json.hpp"
#include "nautilus/net/http.hpp"

namespace nautilus::net {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const std::size_t j = std::min(path.find('/', i), path.size());
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

namespace {

// Same length or not, compares every byte, so the time taken does not reveal the token.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

bool bearer_matches(std::string_view authorization, std::string_view token) noexcept {
  constexpr std::string_view kBearer = "Bearer ";
  return authorization.starts_with(kBearer) &&
         constant_time_equal(authorization.substr(kBearer.size()), token);
}

std::string_view to_string(Method m) noexcept {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
    case Method::kOther:
      break;
  }
  return "OTHER";
}

std::string_view Request::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::query_param(std::string_view key) const {
  std::string_view q = query;
  while (!q.empty()) {
    const std::size_t amp = std::min(q.find('&'), q.size());
    const std::string_view pair = q.substr(0, amp);
    const std::size_t eq = pair.find('=');
    const std::string_view k = pair.substr(0, eq);
    if (percent_decode(k) == key) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    q.remove_prefix(std::min(amp + 1, q.size()));
  }
  return std::nullopt;
}

core::Result<std::size_t> Request::query_count(std::string_view key, std::size_t dflt,
                                               std::size_t max) const {
  const auto v = query_param(key);
  if (!v) return dflt;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n == 0 || n > max) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("{} '{}' is not a whole number in [1, {}]", key, *v, max));
  }
  return n;
}

Response Response::json(std::string body, int status) {
  return Response{.status = status, .content_type = "application/json", .body = std::move(body)};
}

Response Response::text(std::string body, int status) {
  return Response{
      .status = status, .content_type = "text/plain; charset=utf-8", .body = std::move(body)};
}

Response Response::json(const boost::json::value& body, int status) {
  return json(core::to_json_text(body), status);
}

Response Response::error(int status, std::string_view message) {
  return json(boost::json::object{{"error", message}, {"status", status}}, status);
}

void Router::add(Method m, std::string pattern, RouteHandler h, bool mutating) {
  std::vector<std::string> segments;
  for (auto s : split_path(pattern)) segments.emplace_back(s);
  routes_.push_back(Route{m, std::move(pattern), std::move(segments), mutating, std::move(h)});
}

void Router::get_blocking(std::string pattern, RouteHandler h) {
  add(Method::kGet, std::move(pattern), std::move(h), false);
  routes_.back().blocking = true;
}

void Router::post_blocking(std::string pattern, RouteHandler h) {
  add(Method::kPost, std::move(pattern), std::move(h), true);
  routes_.back().blocking = true;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back({r.method, r.pattern, r.mutating});
  return out;
}

const Router::Route* Router::find(Request& request, bool* path_matched) const {
  const Method want = request.method == Method::kHead ? Method::kGet : request.method;
  *path_matched = false;
  for (const auto& r : routes_) {
    std::string_view rest = request.path;
    request.params.clear();
    bool ok = true;
    for (const std::string& seg : r.segments) {
      while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
      const std::size_t end = std::min(rest.find('/'), rest.size());
      const std::string_view part = rest.substr(0, end);
      rest.remove_prefix(end);
      if (part.empty()) {
        ok = false;
        break;
      }
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        request.params.emplace_back(std::string_view(seg).substr(1, seg.size() - 2), part);
      } else if (seg != part) {
        ok = false;
        break;
      }
    }
    while (ok && !rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    if (!ok || !rest.empty()) continue;
    *path_matched = true;
    if (r.method == want) return &r;
  }
  return nullptr;
}

void Router::websocket(std::string path, std::shared_ptr<WebSocketService> service) {
  websockets_.emplace_back(std::move(path), std::move(service));
}

WebSocketService* Router::websocket_for(std::string_view path) const noexcept {
  for (const auto& [p, s] : websockets_) {
    if (p == path) return s.get();
  }
  return nullptr;
}

bool Router::blocking(const Route* r) noexcept { return r != nullptr && r->blocking; }

bool Router::has_blocking_routes() const {
  return std::any_of(routes_.begin(), routes_.end(), [](const Route& r) { return r.blocking; });
}

Response Router::dispatch(Request& request, std::string_view token, Outcome* outcome) const {
  bool path_matched = false;
  const Route* r = find(request, &path_matched);
  return run(r, path_matched, request, token, outcome);
}

Response Router::run(const Route* r, bool path_matched, Request& request, std::string_view token,
                     Outcome* outcome) const {
  if (r != nullptr) {
    if (r->mutating && !token.empty()) {
      if (!bearer_matches(request.authorization, token)) {
        if (outcome != nullptr) *outcome = Outcome::kUnauthorized;
        Response res = Response::error(401, "a bearer token is required for this endpoint");
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        return res;
      }
    }
    if (outcome != nullptr) *outcome = Outcome::kHandled;
    return r->handler(request);
  }
  if (path_matched) {
    if (outcome != nullptr) *outcome = Outcome::kMethodNotAllowed;
    return Response::error(
        405, fmt::format("method {} not allowed on {}", to_string(request.method), request.path));
  }
  if (outcome != nullptr) *outcome = Outcome::kNotFound;
  return Response::error(404, fmt::format("no such endpoint: {}", request.path));
}

}  // namespace nautilus::net
