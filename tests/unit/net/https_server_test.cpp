// HttpServer over TLS: HTTPS routes and a WebSocket service as wss://, with certificates the
// test makes (tests/support/tls_certs.hpp), against the platform's own HTTPS and WebSocket
// clients, which verify the server's certificate and name.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "nautilus/net/http.hpp"
#include "nautilus/net/http_client.hpp"
#include "nautilus/net/websocket_client.hpp"
#include "nautilus/net/websocket_server.hpp"
#include "support/tls_certs.hpp"

namespace nautilus::net {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Sends back each message it gets, prefixed.
class Echo final : public WebSocketHandler {
 public:
  void on_open(const std::shared_ptr<WsConnection>&) override {}
  void on_message(const std::shared_ptr<WsConnection>& c, std::string_view data,
                  bool /*binary*/) override {
    (void)c->send(0, std::make_shared<const std::string>("echo: " + std::string(data)), false);
  }
  void on_close(const WsConnection&, std::string_view) override {}
};

struct Https {
  testing::TestCertificates certs;
  Echo echo;
  std::shared_ptr<WebSocketService> ws = WebSocketService::create({}, &echo);
  std::unique_ptr<HttpServer> server;
  Https() {
    Router r;
    r.get("/health", [](const Request&) { return Response::json(R"({"status":"ok"})"); });
    r.websocket("/ws", ws);
    auto s = HttpServer::start(
        std::move(r), {.tls_cert_file = certs.server_cert, .tls_key_file = certs.server_key});
    if (!s) throw std::runtime_error(s.error().message);
    server = std::move(*s);
  }
  [[nodiscard]] std::string url(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(server->port()) + path;
  }
};

TEST(HttpsServer, ServesRoutesToAClientThatVerifiesItsCertificateByAddressAndName) {
  Https h;
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    auto r = http_fetch(h.url(host, "/health"), {.ca_file = h.certs.ca});
    ASSERT_TRUE(r) << host << ": " << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(contains(r->body, "\"ok\"")) << r->body;
  }
  // A client that does not trust the test CA refuses the server.
  auto untrusted = http_fetch(h.url("127.0.0.1", "/health"), {});
  ASSERT_FALSE(untrusted);
  EXPECT_TRUE(contains(untrusted.error().message, "certificate")) << untrusted.error().message;
}

TEST(HttpsServer, PlainHttpToTheTlsPortIsCountedAsAFailedHandshakeAndTheServerGoesOn) {
  Https h;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(h.server->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const timeval limit{.tv_sec = 10, .tv_usec = 0};  // the server closes it; never wait for ever
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  const std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[512];
  ssize_t n = 0;
  std::string got;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  EXPECT_FALSE(contains(got, "\"ok\"")) << "plain HTTP was answered on the TLS port";
  for (int i = 0; i < 200 && h.server->metrics().tls_handshake_failed == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(h.server->metrics().tls_handshake_failed, 1U);
  EXPECT_TRUE(contains(h.server->metrics().to_prometheus("t"), "reason=\"tls_handshake\"} 1"));
  auto r = http_fetch(h.url("127.0.0.1", "/health"), {.ca_file = h.certs.ca});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

TEST(HttpsServer, AClientThatNeverStartsTlsIsCutOffAtTheReadTimeoutAsAFailedHandshake) {
  testing::TestCertificates certs;
  auto s = HttpServer::start(Router{}, {.read_timeout = 200ms,
                                        .tls_cert_file = certs.server_cert,
                                        .tls_key_file = certs.server_key});
  ASSERT_TRUE(s) << s.error().message;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons((*s)->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const timeval limit{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  char buf[64];
  EXPECT_LE(::recv(fd, buf, sizeof buf, 0), 0);  // closed by the server, having said nothing
  ::close(fd);
  for (int i = 0; i < 200 && (*s)->metrics().tls_handshake_failed == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ((*s)->metrics().tls_handshake_failed, 1U);
  EXPECT_EQ((*s)->metrics().timeouts, 0U);  // counted once, as what it was
}

TEST(HttpsServer, AWebSocketServiceIsServedAsWss) {
  Https h;
  auto c = WebSocketClient::connect("wss://127.0.0.1:" + std::to_string(h.server->port()) + "/ws",
                                    {.ca_file = h.certs.ca});
  ASSERT_TRUE(c) << c.error().message;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c->send("hello " + std::to_string(i)));
    auto got = c->receive(5s);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(*got, "echo: hello " + std::to_string(i));
  }
  c->close();
  EXPECT_EQ(h.ws->metrics().accepted, 1U);
}

TEST(HttpsServer, AMissingCertificateOrKeyIsAnErrorNamingTheFile) {
  testing::TestCertificates certs;
  auto no_cert = HttpServer::start(
      Router{}, {.tls_cert_file = "/nonexistent/cert.pem", .tls_key_file = certs.server_key});
  ASSERT_FALSE(no_cert);
  EXPECT_TRUE(contains(no_cert.error().message, "/nonexistent/cert.pem"))
      << no_cert.error().message;
  auto wrong_key = HttpServer::start(
      Router{}, {.tls_cert_file = certs.server_cert, .tls_key_file = certs.client_key});
  ASSERT_FALSE(wrong_key);  // the key is not the certificate's
  EXPECT_TRUE(contains(wrong_key.error().message, certs.client_key)) << wrong_key.error().message;
  // A key of another type (RSA, for the P-256 certificate): OpenSSL loads it without a word,
  // so the server checks the pair itself.
  const std::string rsa = certs.dir + "/rsa.key";
  ASSERT_EQ(std::system(("openssl genrsa -out " + rsa + " 2048 >/dev/null 2>&1").c_str()), 0);
  auto other_type =
      HttpServer::start(Router{}, {.tls_cert_file = certs.server_cert, .tls_key_file = rsa});
  ASSERT_FALSE(other_type);
  EXPECT_TRUE(contains(other_type.error().message, rsa)) << other_type.error().message;
  auto half = HttpServer::start(Router{}, {.tls_cert_file = certs.server_cert});
  ASSERT_FALSE(half);
  EXPECT_TRUE(contains(half.error().message, "both")) << half.error().message;
}

}  // namespace
}  // namespace nautilus::net
