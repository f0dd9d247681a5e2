// The HTTP server over real loopback sockets: routing, keep-alive, limits, timeouts, the
// bearer token, and the counters that /metrics exposes.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "nautilus/net/http.hpp"
#include "support/http_client.hpp"

namespace nautilus::net {
namespace {

using namespace std::chrono_literals;
using test::http_get;
using test::http_request;
using test::RawConnection;

Router test_router() {
  Router r;
  r.get("/health", [](const Request&) { return Response::json(R"({"status":"ok"})"); });
  r.get("/vpin/{symbol}", [](const Request& q) {
    return Response::json(std::string(R"({"symbol":")") + std::string(q.param("symbol")) +
                          R"(","n":")" + q.query_param("n").value_or("none") + "\"}");
  });
  r.post("/orders", [](const Request& q) { return Response::json(std::string(q.body), 201); });
  r.get("/boom", [](const Request&) -> Response { throw std::runtime_error("kaput"); });
  return r;
}

// Beast closes a timed-out socket before its handler runs, so the counter can lag the close.
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 200; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::unique_ptr<HttpServer> start(ServerOptions o = {}) {
  auto s = HttpServer::start(test_router(), std::move(o));
  EXPECT_TRUE(s.has_value()) << s.error().message;
  return std::move(*s);
}

TEST(HttpServer, ServesRoutesWithParamsAndQuery) {
  auto s = start();
  auto r = http_get(s->port(), "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_NE(r.headers.find("application/json"), std::string::npos);
  r = http_get(s->port(), "/vpin/AAPL?n=50&x=1");
  EXPECT_EQ(r.body, R"({"symbol":"AAPL","n":"50"})");
  r = http_get(s->port(), "/vpin/MSFT?n=a%20b");
  EXPECT_EQ(r.body, R"({"symbol":"MSFT","n":"a b"})");
}

TEST(HttpServer, UnknownPathIs404WrongMethodIs405) {
  auto s = start();
  EXPECT_EQ(http_get(s->port(), "/nope").status, 404);
  EXPECT_EQ(http_request(s->port(), "DELETE", "/health").status, 405);
  EXPECT_EQ(s->metrics().not_found, 2U);
}

TEST(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  auto s = start();
  RawConnection c(s->port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = test::parse_response(c.read_response());
    ASSERT_EQ(r.status, 200) << i;
  }
  EXPECT_EQ(s->metrics().connections_accepted, 1U);
  EXPECT_EQ(s->metrics().requests, 5U);
}

TEST(HttpServer, HeadHasHeadersButNoBody) {
  auto s = start();
  RawConnection c(s->port());
  ASSERT_TRUE(c.send("HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string raw = c.read_until_close(2s);
  EXPECT_NE(raw.find("200 OK"), std::string::npos);
  EXPECT_NE(raw.find("Content-Length: 15"), std::string::npos);
  EXPECT_TRUE(raw.ends_with("\r\n\r\n"));
}

TEST(HttpServer, MalformedRequestLineIs400AndServerStaysUp) {
  auto s = start();
  for (std::string_view bad :
       {"GARBAGE\r\n\r\n", "GET /health HTTP/9.9\r\n\r\n",
        "GET /health HTTP/1.1\r\nBad Header Line\r\n\r\n", "\x01\x02\x03\r\n\r\n"}) {
    RawConnection c(s->port());
    ASSERT_TRUE(c.send(bad));
    const std::string raw = c.read_until_close(2s);
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 400")) << raw;
  }
  EXPECT_EQ(s->metrics().malformed, 4U);
  EXPECT_EQ(http_get(s->port(), "/health").status, 200);
}

TEST(HttpServer, HugeHeadersAre431) {
  auto s = start({.header_limit = 1024});
  const std::string big(4096, 'a');
  auto r = http_request(s->port(), "GET", "/health", {}, "X-Big: " + big + "\r\n");
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(s->metrics().header_too_large, 1U);
  EXPECT_EQ(http_get(s->port(), "/health").status, 200);
}

TEST(HttpServer, OversizeBodyIs413) {
  auto s = start({.body_limit = 1000});
  auto r = http_request(s->port(), "POST", "/orders", std::string(5000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(s->metrics().body_too_large, 1U);
  r = http_request(s->port(), "POST", "/orders", R"({"qty":1})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"qty":1})");
}

TEST(HttpServer, SlowlorisIsCutOffByTheReadTimeout) {
  auto s = start({.idle_timeout = 5s, .read_timeout = 300ms});
  RawConnection slow(s->port());
  ASSERT_TRUE(slow.send("GET /health HTTP/1.1\r\nHost: x\r\n"));
  // Dribble a header line now and then, never finishing the request.
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    slow.send("X-Slow: 1\r\n");
    closed = slow.closed_by_peer(100ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([&] { return s->metrics().timeouts == 1; }));
  EXPECT_EQ(http_get(s->port(), "/health").status, 200);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  auto s = start({.idle_timeout = 200ms});
  RawConnection c(s->port());
  ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(test::parse_response(c.read_response()).status, 200);
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_TRUE(eventually([&] { return s->metrics().timeouts == 1; }));
}

TEST(HttpServer, BearerTokenGuardsMutatingRoutesOnly) {
  auto s = start({.bearer_token = "s3cret"});
  EXPECT_EQ(http_request(s->port(), "POST", "/orders", "{}").status, 401);
  EXPECT_EQ(
      http_request(s->port(), "POST", "/orders", "{}", "Authorization: Bearer wrong\r\n").status,
      401);
  EXPECT_EQ(
      http_request(s->port(), "POST", "/orders", "{}", "Authorization: Bearer s3cret\r\n").status,
      201);
  EXPECT_EQ(http_get(s->port(), "/health").status, 200);
  EXPECT_EQ(s->metrics().unauthorized, 2U);
}

TEST(HttpServer, ThrowingHandlerIs500AndCounted) {
  auto s = start();
  auto r = http_get(s->port(), "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("kaput"), std::string::npos);
  EXPECT_EQ(s->metrics().handler_errors, 1U);
  EXPECT_EQ(http_get(s->port(), "/health").status, 200);
}

TEST(HttpServer, PortInUseIsAClearError) {
  auto s = start();
  auto second = HttpServer::start(test_router(), {.port = s->port()});
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("cannot listen"), std::string::npos);
}

TEST(HttpServer, ConnectionsOverTheLimitAreRefused) {
  auto s = start({.max_connections = 2});
  RawConnection a(s->port());
  RawConnection b(s->port());
  ASSERT_TRUE(a.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(test::parse_response(a.read_response()).status, 200);
  EXPECT_EQ(test::parse_response(b.read_response()).status, 200);
  RawConnection c(s->port());
  EXPECT_TRUE(c.closed_by_peer(2s));
  EXPECT_TRUE(eventually([&] { return s->metrics().connections_rejected == 1; }));
}

TEST(HttpServer, MetricsAreExposedAsPrometheusText) {
  auto s = start();
  (void)http_get(s->port(), "/health");
  (void)http_get(s->port(), "/nope");
  const std::string text = s->metrics().to_prometheus("vpin");
  EXPECT_NE(text.find("# TYPE nautilus_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("nautilus_http_requests_total{engine=\"vpin\"} 2"), std::string::npos);
  EXPECT_NE(text.find("nautilus_http_responses_total{engine=\"vpin\",class=\"4xx\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace nautilus::net
