// libFuzzer target for what the HTTP layer decodes itself (Beast parses the request): route
// matching with {params}, query parameters with percent-decoding, and the bearer check.
// Property: no input crashes, and a matched route's params are whole, non-empty segments.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nautilus/net/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus::net;
  static const Router router = [] {
    Router r;
    r.get("/health", [](const Request&) { return Response::json("{}"); });
    r.get("/vpin/{symbol}",
          [](const Request& q) { return Response::text(std::string(q.param("symbol"))); });
    r.get("/a/{x}/b/{y}", [](const Request&) { return Response::json("{}"); });
    r.post("/orders", [](const Request& q) { return Response::json(std::string(q.body)); });
    return r;
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // First line: the target; the rest: the Authorization header value.
  const std::size_t nl = input.find('\n');
  const std::string_view target = input.substr(0, nl);
  Request q;
  q.method = size > 0 && (data[0] & 1) ? Method::kPost : Method::kGet;
  const std::size_t qm = target.find('?');
  q.path = target.substr(0, qm);
  if (qm != std::string_view::npos) q.query = target.substr(qm + 1);
  if (nl != std::string_view::npos) q.authorization = input.substr(nl + 1);
  for (const char* key : {"n", "a b", "%", ""}) (void)q.query_param(key);
  Router::Outcome outcome{};
  const Response r = router.dispatch(q, "token", &outcome);
  if (outcome == Router::Outcome::kHandled) {
    for (const auto& [name, value] : q.params) {
      if (value.empty() || value.find('/') != std::string_view::npos) std::abort();
    }
  }
  if (r.status < 200 || r.status > 599) std::abort();
  return 0;
}
