// A real Redis Cluster for a test: `masters` masters with `replicas` replicas each (one unless
// told), redis-server nodes on free loopback ports (a cluster bus port each, --cluster-port),
// joined as `redis-cli --cluster create` joins them, with a short cluster-node-timeout so a
// killed master's replica is promoted within seconds. Stopped, and its directories removed, in the
// destructor.
//
//   testing::RedisCluster cluster(3);
//   auto c = bus_redis::ClusterClient::connect(cluster.seeds(), {});
//   cluster.node_at(port).kill9();   // a master dies; its replica takes over
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"
#include "support/tls_certs.hpp"

namespace nautilus::testing {

struct ClusterNodeInfo {
  std::string id;
  std::uint16_t port = 0;
  bool master = false;
  bool failed = false;
  std::string master_id;  // a replica's master
};

class RedisCluster {
 public:
  // With `tls`, each node also has a TLS port (tls_ports()) with these certificates, and the
  // cluster bus and replication run over TLS (tls-cluster, tls-replication): a client over TLS
  // is given the TLS ports in CLUSTER SLOTS, a plaintext one (the harness) the plaintext ports.
  explicit RedisCluster(int masters = 3, int node_timeout_ms = 1000, int replicas = 1,
                        const TestCertificates* tls = nullptr) {
    const int total = masters * (1 + replicas);
    std::vector<std::uint16_t> bus_ports;
    for (int i = 0; i < total; ++i) {
      bus_ports.push_back(RedisServer::free_port());
      std::vector<std::string> extra = {
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", std::to_string(node_timeout_ms),
          // a replica syncs at once, not after the default 5 s wait for others
          "--repl-diskless-sync-delay", "0", "--cluster-port", std::to_string(bus_ports.back())};
      if (tls != nullptr) {
        tls_ports_.push_back(RedisServer::free_port());
        const auto args = tls->redis_args(tls_ports_.back());
        extra.insert(extra.end(), args.begin(), args.end());
        extra.insert(extra.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
      }
      nodes_.push_back(
          std::make_unique<RedisServer>(RedisServer::Options{.password = {}, .extra = extra}));
    }
    // What `redis-cli --cluster create` does, with no fixed sleeps between the steps: distinct
    // config epochs, equal slot ranges for the masters, every node introduced to the first,
    // then each replica attached to its master. (With redis-cli and the default sync delay a
    // cluster took 6-7 s to come up; this way about 2 s.)
    std::vector<bus_redis::RedisClient> c;
    for (const auto& n : nodes_) c.push_back(n->client());
    std::vector<std::string> ids;
    for (int i = 0; i < total; ++i) {
      expect_ok(c[i].command({"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)}));
      ids.push_back(c[i].command({"CLUSTER", "MYID"}).value().str);
    }
    for (int m = 0; m < masters; ++m) {
      const int first = kSlots * m / masters, last = kSlots * (m + 1) / masters - 1;
      expect_ok(
          c[m].command({"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)}));
    }
    for (int i = 1; i < total; ++i) {
      expect_ok(c[i].command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(nodes_[0]->port()),
                              std::to_string(bus_ports[0])}));
    }
    wait_known(total, std::chrono::seconds(30));
    for (int i = masters; i < total; ++i) {
      expect_ok(c[i].command({"CLUSTER", "REPLICATE", ids[(i - masters) % masters]}));
    }
    wait_ok(std::chrono::seconds(30));
    if (replicas > 0) wait_replicated(std::chrono::seconds(30), replicas);
  }

  [[nodiscard]] std::vector<config::RedisEndpoint> seeds() const {
    std::vector<config::RedisEndpoint> out;
    for (const auto& n : nodes_) out.push_back(n->endpoint());
    return out;
  }
  // The TLS ports, for a cluster made with certificates.
  [[nodiscard]] std::vector<std::uint16_t> tls_ports() const { return tls_ports_; }
  [[nodiscard]] RedisServer& node_at(std::uint16_t port) {
    for (auto& n : nodes_) {
      if (n->port() == port) return *n;
    }
    throw std::runtime_error("no node on port " + std::to_string(port));
  }
  // `redis-cli --cluster reshard`: `slots` slots from one master to another (node ids), the
  // keys in them migrated (MIGRATE) while clients go on. True when redis-cli succeeded.
  bool reshard(const std::string& from_id, const std::string& to_id, int slots) const {
    for (const auto& n : nodes_) {
      if (!bus_redis::RedisClient::connect(n->endpoint(), std::chrono::milliseconds(200))) continue;
      return run({"redis-cli", "--cluster", "reshard", "127.0.0.1:" + std::to_string(n->port()),
                  "--cluster-from", from_id, "--cluster-to", to_id, "--cluster-slots",
                  std::to_string(slots), "--cluster-yes"}) == 0;
    }
    return false;
  }
  // Every node stopped, then every node started again: the cluster re-forms from its
  // nodes.conf files, empty (no persistence).
  void restart_all() {
    for (auto& n : nodes_) n->shutdown();
    for (auto& n : nodes_) n->start_again();
    wait_ok(std::chrono::seconds(30));
  }
  // The masters, by port.
  [[nodiscard]] std::vector<ClusterNodeInfo> masters() const {
    std::vector<ClusterNodeInfo> out;
    for (auto& n : topology()) {
      if (n.master && !n.failed) out.push_back(n);
    }
    return out;
  }
  // CLUSTER NODES as seen by the node on `port` (any live node when 0).
  [[nodiscard]] std::vector<ClusterNodeInfo> topology(std::uint16_t port = 0) const {
    for (const auto& n : nodes_) {
      if (port != 0 && n->port() != port) continue;
      auto c = bus_redis::RedisClient::connect(n->endpoint(), std::chrono::milliseconds(300));
      if (!c) continue;
      auto r = c->command({"CLUSTER", "NODES"});
      if (!r || r->is_error()) continue;
      std::vector<ClusterNodeInfo> out;
      std::istringstream lines(r->str);
      std::string line;
      while (std::getline(lines, line)) {
        std::istringstream f(line);
        std::string id, addr, flags, master;
        f >> id >> addr >> flags >> master;
        if (id.empty()) continue;
        ClusterNodeInfo info{.id = id,
                             .port = static_cast<std::uint16_t>(
                                 std::stoi(addr.substr(addr.find(':') + 1))),  // to the '@'
                             .master = flags.find("master") != std::string::npos,
                             .failed = flags.find("fail") != std::string::npos,
                             .master_id = master == "-" ? "" : master};
        out.push_back(std::move(info));
      }
      return out;
    }
    return {};
  }
  // Every master has its replica attached and every replica's link is up.
  void wait_replicated(std::chrono::milliseconds timeout, int replicas = 1) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (const auto& n : nodes_) {
        auto c = bus_redis::RedisClient::connect(n->endpoint(), std::chrono::milliseconds(200));
        if (!c) continue;
        auto r = c->command({"INFO", "replication"});
        if (!r) {
          all = false;
          continue;
        }
        const bool master = r->str.find("role:master") != std::string::npos;
        if (master
                ? r->str.find("connected_slaves:" + std::to_string(replicas)) == std::string::npos
                : r->str.find("master_link_status:up") == std::string::npos) {
          all = false;
        }
      }
      if (all) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the cluster's replicas did not attach");
  }
  // Every live node says cluster_state:ok (after a failover, once the replica took over).
  void wait_ok(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      int live = 0;
      for (const auto& n : nodes_) {
        auto c = bus_redis::RedisClient::connect(n->endpoint(), std::chrono::milliseconds(200));
        if (!c) continue;
        ++live;
        auto r = c->command({"CLUSTER", "INFO"});
        if (!r || r->str.find("cluster_state:ok") == std::string::npos) all = false;
      }
      if (all && live > 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the cluster did not reach cluster_state:ok");
  }

 private:
  static constexpr int kSlots = 16384;

  static void expect_ok(const core::Result<bus_redis::RedisReply>& r) {
    if (!r) throw std::runtime_error("cluster set-up: " + r.error().message);
    if (r->is_error()) throw std::runtime_error("cluster set-up: " + r->str);
  }
  // Every node knows every other (CLUSTER INFO cluster_known_nodes), so REPLICATE finds its
  // master's id.
  void wait_known(int total, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string want = "cluster_known_nodes:" + std::to_string(total) + "\r";
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (const auto& n : nodes_) {
        auto r = n->client().command({"CLUSTER", "INFO"});
        if (!r || r->str.find(want) == std::string::npos) all = false;
      }
      if (all) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("the cluster's nodes did not meet");
  }

  static int run(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::vector<std::uint16_t> tls_ports_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace nautilus::testing
