// A real Redis Cluster for a test: `masters` masters with one replica each, redis-server nodes on
// free loopback ports (a cluster bus port each, --cluster-port), joined by
// `redis-cli --cluster create`, a short cluster-node-timeout so a killed master's replica is
// promoted within seconds. Stopped, and its directories removed, in the destructor.
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
  explicit RedisCluster(int masters = 3, int node_timeout_ms = 1000) {
    for (int i = 0; i < masters * 2; ++i) {
      nodes_.push_back(std::make_unique<RedisServer>(RedisServer::Options{
          .password = {},
          .extra = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", std::to_string(node_timeout_ms), "--cluster-port",
                    std::to_string(RedisServer::free_port())}}));
    }
    std::vector<std::string> args = {"redis-cli", "--cluster", "create"};
    for (const auto& n : nodes_) args.push_back("127.0.0.1:" + std::to_string(n->port()));
    args.insert(args.end(), {"--cluster-replicas", "1", "--cluster-yes"});
    if (run(args) != 0) throw std::runtime_error("redis-cli --cluster create failed");
    wait_ok(std::chrono::seconds(30));
    wait_replicated(std::chrono::seconds(30));
  }

  [[nodiscard]] std::vector<config::RedisEndpoint> seeds() const {
    std::vector<config::RedisEndpoint> out;
    for (const auto& n : nodes_) out.push_back(n->endpoint());
    return out;
  }
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
  void wait_replicated(std::chrono::milliseconds timeout) const {
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
        if (master ? r->str.find("connected_slaves:1") == std::string::npos
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

  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace nautilus::testing
