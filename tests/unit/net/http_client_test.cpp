// The outbound client over real loopback sockets: plain HTTP against our server, HTTPS against
// `openssl s_server` with a certificate made for the test (verified, and refused when the CA
// is not trusted), connection failures and the deadline.
#include "support/http_client.hpp"  // POSIX socket headers

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "nautilus/net/http.hpp"
#include "nautilus/net/http_client.hpp"

namespace nautilus::net {
namespace {

using namespace std::chrono_literals;

using test::free_port;

TEST(HttpClient, ParsesUrls) {
  auto u = parse_url("https://api.stlouisfed.org/fred/series/observations?series_id=GDP");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.stlouisfed.org");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/fred/series/observations?series_id=GDP");
  EXPECT_EQ(parse_url("http://127.0.0.1:8080")->target, "/");
  EXPECT_FALSE(parse_url("ftp://x"));
  EXPECT_FALSE(parse_url("http://x:99999/"));
  EXPECT_FALSE(parse_url("http://:80/"));
}

TEST(HttpClient, FetchesOverPlainHttp) {
  Router r;
  r.get("/q", [](const Request& q) {
    return Response::json(R"({"ok":")" + q.query_param("a").value_or("") + "\"}");
  });
  auto s = HttpServer::start(std::move(r), {});
  ASSERT_TRUE(s);
  auto res = http_fetch("http://127.0.0.1:" + std::to_string((*s)->port()) + "/q?a=1");
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":"1"})");
  auto missing = http_fetch("http://127.0.0.1:" + std::to_string((*s)->port()) + "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(HttpClient, RefusedConnectionAndSilentServerAreErrors) {
  auto refused = http_fetch("http://127.0.0.1:" + std::to_string(free_port()) + "/");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("connect"), std::string::npos);

  // A listening socket nobody accepts on: the connect succeeds, no answer ever comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const auto t0 = std::chrono::steady_clock::now();
  auto silent =
      http_fetch("http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/", {.timeout = 300ms});
  ::close(fd);
  ASSERT_FALSE(silent);
  EXPECT_EQ(silent.error().code, core::ErrorCode::kTimeout) << silent.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

class TlsServer {
 public:
  TlsServer() {
    dir_ = std::filesystem::temp_directory_path() / ("nautilus-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string gen =
        "cd " + dir_.string() +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1"
        " -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1";
    ok_ = std::system(gen.c_str()) == 0;
    std::ofstream(dir_ / "obs.json") << R"({"observations":[]})";
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::filesystem::current_path(dir_);
      const std::string port = std::to_string(port_);
      ::execlp("openssl", "openssl", "s_server", "-accept", port.c_str(), "-cert", "cert.pem",
               "-key", "key.pem", "-WWW", "-quiet", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    // Ready when it accepts connections.
    for (int i = 0; i < 300; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (up) return;
      std::this_thread::sleep_for(10ms);
    }
    ok_ = false;
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  bool ok() const { return ok_; }
  std::string url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(port_) + "/obs.json";
  }
  std::string ca() const { return (dir_ / "cert.pem").string(); }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ok_ = false;
};

TEST(HttpClient, HttpsVerifiesThePeerAndItsName) {
  TlsServer tls;
  ASSERT_TRUE(tls.ok()) << "openssl could not make a certificate or start s_server";
  auto trusted = http_fetch(tls.url("localhost"), {.timeout = 5s, .ca_file = tls.ca()});
  ASSERT_TRUE(trusted) << trusted.error().message;
  EXPECT_EQ(trusted->status, 200);
  EXPECT_EQ(trusted->body, R"({"observations":[]})");
  // The system CAs do not know the test's certificate: the handshake must fail.
  auto untrusted = http_fetch(tls.url("localhost"), {.timeout = 5s});
  ASSERT_FALSE(untrusted);
  EXPECT_NE(untrusted.error().message.find("TLS handshake"), std::string::npos)
      << untrusted.error().message;
  // Trusted certificate, wrong name: 127.0.0.2 is loopback too but not in the certificate.
  auto wrong_name = http_fetch(tls.url("127.0.0.2"), {.timeout = 5s, .ca_file = tls.ca()});
  ASSERT_FALSE(wrong_name);
  EXPECT_NE(wrong_name.error().message.find("TLS handshake"), std::string::npos)
      << wrong_name.error().message;
}

}  // namespace
}  // namespace nautilus::net
