// A real redis-server for a test or a benchmark: a free loopback port, its own directory, started
// in the constructor and stopped (SIGTERM, then SIGKILL) in the destructor.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nautilus/bus_redis/redis_client.hpp"

extern char** environ;

namespace nautilus::testing {

class RedisServer {
 public:
  struct Options {
    std::string password;
    std::vector<std::string> extra;  // more redis-server arguments
  };

  explicit RedisServer(Options o = {}) : options_(std::move(o)) {
    char tmpl[] = "/tmp/nautilus-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    start();
  }
  ~RedisServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] config::RedisEndpoint endpoint() const {
    return {.host = "127.0.0.1", .port = port_, .password = options_.password};
  }
  [[nodiscard]] bus_redis::RedisClient client() const {
    auto c = bus_redis::RedisClient::connect(endpoint(), std::chrono::seconds(2));
    if (!c) throw std::runtime_error(c.error().message);
    return std::move(*c);
  }

  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  void restart() {
    stop();
    start();
  }
  // Stopped (SIGTERM) and, later, started again on the same port and directory: a cluster
  // node keeps its nodes.conf, so a whole cluster stopped and started comes back as it was
  // (without its data: no persistence).
  void shutdown() { stop(); }
  void start_again() { start(); }
  // A server that stops answering for a while (SIGSTOP), then goes on where it was (SIGCONT).
  void pause() const {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void resume() const {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  // A free loopback port (bound, read back, released); also for other servers' ports.
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
  }

 private:
  void start() {
    std::vector<std::string> args = {
        "redis-server", "--port",    std::to_string(port_), "--bind", "127.0.0.1",
        "--save",       "",          "--appendonly",        "no",     "--dir",
        dir_,           "--logfile", dir_ + "/redis.log"};
    if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
    args.insert(args.end(), options_.extra.begin(), options_.extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start redis-server (is it installed?)");
    }
    // Ready when it answers (NOAUTH counts as an answer).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      config::RedisEndpoint probe{.host = "127.0.0.1", .port = port_};
      auto c = bus_redis::RedisClient::connect(probe, std::chrono::milliseconds(200));
      if (c || c.error().code == core::ErrorCode::kInvalidArgument) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("redis-server did not answer on port " + std::to_string(port_));
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill9();
  }

  Options options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace nautilus::testing
