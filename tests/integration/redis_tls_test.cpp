// RedisClient and the transport over TLS, against a real redis-server with a TLS port and
// certificates the test makes (tests/support/tls_certs.hpp): the server's certificate and name
// verified, wrong ones refused with the reason, client certificates, and a bus over TLS.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/model/market_data.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

namespace nautilus {
namespace {

using bus_redis::RedisClient;
using testing::RedisServer;
using testing::TestCertificates;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A server with a TLS port beside its plaintext one (which the harness uses to see it is up).
struct TlsRedis {
  TestCertificates certs;
  std::uint16_t tls_port = RedisServer::free_port();
  RedisServer server;
  explicit TlsRedis(const std::string& auth_clients = "no")
      : server({.password = {}, .extra = certs.redis_args(tls_port, auth_clients)}) {}
  [[nodiscard]] config::RedisEndpoint endpoint() const {
    config::RedisEndpoint ep{.host = "127.0.0.1", .port = tls_port};
    ep.tls = {.enabled = true, .ca_file = certs.ca};
    return ep;
  }
};

TEST(RedisTls, CommandsAndPipelinesGoThroughTlsWithTheServersCertificateVerified) {
  TlsRedis redis;
  auto c = RedisClient::connect(redis.endpoint(), std::chrono::seconds(2));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->is_tls());
  EXPECT_TRUE(c->tls_protocol() == "TLSv1.3" || c->tls_protocol() == "TLSv1.2")
      << c->tls_protocol();
  auto pong = c->command({"PING"});
  ASSERT_TRUE(pong) << pong.error().message;
  EXPECT_EQ(pong->str, "PONG");
  // A value of several TLS records (16 KB each) each way.
  const std::string big(1 << 20, 'x');
  ASSERT_TRUE(c->command({"SET", "big", big}));
  auto got = c->command({"GET", "big"});
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->str, big);
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 2000; ++i) cmds.push_back({"INCR", "n"});
  auto replies = c->pipeline(cmds);
  ASSERT_TRUE(replies) << replies.error().message;
  ASSERT_EQ(replies->size(), 2000U);
  EXPECT_EQ(replies->back().integer, 2000);
  // The name in the certificate (DNS:localhost) verifies as well as the address.
  auto by_name = redis.endpoint();
  by_name.host = "localhost";
  auto named = RedisClient::connect(by_name, std::chrono::seconds(2));
  EXPECT_TRUE(named) << named.error().message;
  // The TLS port speaks only TLS: a plaintext client gets nowhere there.
  auto plain = redis.endpoint();
  plain.tls = {};
  EXPECT_FALSE(RedisClient::connect(plain, std::chrono::milliseconds(500)));
}

TEST(RedisTls, AServerWhoseCertificateNoTrustedCaSignedIsRefusedNamingWhy) {
  TlsRedis redis;
  auto ep = redis.endpoint();
  ep.tls.ca_file = redis.certs.other_ca;
  auto c = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_FALSE(c);
  EXPECT_TRUE(contains(c.error().message, "certificate verify failed")) << c.error().message;
  EXPECT_TRUE(contains(c.error().message, std::to_string(redis.tls_port))) << c.error().message;
  // No CA file: the system's CAs, which did not sign the test CA either.
  ep.tls.ca_file.clear();
  auto system = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_FALSE(system);
  EXPECT_TRUE(contains(system.error().message, "certificate verify failed"))
      << system.error().message;
}

TEST(RedisTls, AServerWhoseCertificateNamesAnotherHostIsRefused) {
  TlsRedis redis;
  auto ep = redis.endpoint();
  ep.tls.server_name = "redis.example.com";  // the certificate names localhost and 127.0.0.1
  auto c = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_FALSE(c);
  EXPECT_TRUE(contains(c.error().message, "hostname mismatch")) << c.error().message;
  EXPECT_TRUE(contains(c.error().message, "redis.example.com")) << c.error().message;
  ep.tls.server_name = "127.0.0.2";  // an address the certificate does not hold
  auto ip = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_FALSE(ip);
  EXPECT_TRUE(contains(ip.error().message, "certificate verify failed")) << ip.error().message;
}

TEST(RedisTls, AServerThatRequiresAClientCertificateAcceptsOursAndRefusesNone) {
  TlsRedis redis("yes");
  auto without = RedisClient::connect(redis.endpoint(), std::chrono::seconds(2));
  EXPECT_FALSE(without);  // the server ends the handshake (or the first command) without one
  auto ep = redis.endpoint();
  ep.tls.cert_file = redis.certs.client_cert;
  ep.tls.key_file = redis.certs.client_key;
  auto with = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_TRUE(with) << with.error().message;
  auto pong = with->command({"PING"});
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->str, "PONG");
  // A key that is not the certificate's is refused before anything is sent.
  ep.tls.key_file = redis.certs.server_key;
  auto mismatch = RedisClient::connect(ep, std::chrono::seconds(2));
  ASSERT_FALSE(mismatch);
  EXPECT_TRUE(contains(mismatch.error().message, "cannot use the client key"))
      << mismatch.error().message;
}

// Two hosts over `cfg`: a publisher and a subscriber counting market data, both connected.
struct TwoHosts {
  bus::MessageBus a, b;
  std::atomic<int> got{0};
  std::unique_ptr<bus_redis::RedisTransport> ta, tb;
  explicit TwoHosts(const config::BusConfig& cfg) {
    (void)b.subscribe("market_data.*", [this](const bus::Envelope&) { got.fetch_add(1); });
    auto x = bus_redis::RedisTransport::start(a, {.config = cfg, .group = "a"});
    auto y = bus_redis::RedisTransport::start(b, {.config = cfg, .group = "b"});
    if (!x || !y) throw std::runtime_error("transport did not start");
    ta = std::move(*x);
    tb = std::move(*y);
  }
  [[nodiscard]] bool wait_connected() const {
    for (int i = 0; i < 1000; ++i) {
      bool up = true;
      for (const auto& l : tb->status().links) up = up && l.reader_connected && l.writer_connected;
      if (up) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // `n` quotes over `symbols` symbols, written out; then waits for the subscriber to have them.
  void publish_quotes(int n, int symbols) {
    auto pub = *a.publisher("feed");
    for (int i = 0; i < n; ++i) {
      const std::string symbol = "S" + std::to_string(i % symbols);
      (void)pub.publish(
          "market_data." + symbol + ".quote",
          model::QuoteTick{core::Symbol::from_trusted(symbol), *core::Price::from_string("189.10"),
                           *core::Price::from_string("189.12"), *core::Quantity::from_string("300"),
                           *core::Quantity::from_string("200"), i});
    }
    (void)ta->flush(std::chrono::seconds(20));
    for (int i = 0; i < 2000 && got.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

TEST(RedisTls, TheTransportCarriesEveryMessageBetweenTwoHostsOverTls) {
  TlsRedis redis;
  config::BusConfig cfg;
  cfg.main = cfg.marketdata = cfg.logic = redis.endpoint();
  TwoHosts hosts(cfg);
  ASSERT_TRUE(hosts.wait_connected());
  constexpr int kMessages = 20'000;
  hosts.publish_quotes(kMessages, 1);
  EXPECT_EQ(hosts.got.load(), kMessages);
  for (const auto& l : hosts.tb->status().links) {
    EXPECT_EQ(l.failed_reads, 0U) << l.name;
    EXPECT_EQ(l.endpoint, "127.0.0.1:" + std::to_string(redis.tls_port)) << l.name;
  }
}

TEST(RedisTls, ABusOnATlsClusterIsRoutedToEachMastersTlsPort) {
  TestCertificates certs;
  testing::RedisCluster cluster(3, 1000, /*replicas=*/0, &certs);
  config::BusConfig cfg;
  cfg.main = cluster.seeds().front();  // the registry's; not used here
  const auto tls_ports = cluster.tls_ports();
  for (auto* ep : {&cfg.marketdata, &cfg.logic}) {
    for (auto p : tls_ports) ep->cluster.push_back({.host = "127.0.0.1", .port = p});
    ep->tls = {.enabled = true, .ca_file = certs.ca};
  }
  TwoHosts hosts(cfg);
  ASSERT_TRUE(hosts.wait_connected());
  constexpr int kMessages = 3000;
  hosts.publish_quotes(kMessages, 60);
  EXPECT_EQ(hosts.got.load(), kMessages);
  // Every shard link sits on a master's TLS port: the slot map a TLS client reads gives them.
  std::set<std::string> masters;
  for (const auto& l : hosts.tb->status().links) {
    bool on_tls = false;
    for (auto p : tls_ports) on_tls = on_tls || l.endpoint == "127.0.0.1:" + std::to_string(p);
    EXPECT_TRUE(on_tls) << l.name << " on " << l.endpoint;
    masters.insert(l.endpoint);
  }
  EXPECT_EQ(masters.size(), 3U);
}

}  // namespace
}  // namespace nautilus
