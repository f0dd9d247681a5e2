// A minimal blocking HTTP/1.1 client over POSIX sockets for tests: it sends exactly the bytes
// a test gives it, so tests can speak malformed HTTP too. Loopback only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::test {

// A loopback port that was free a moment ago (bind to 0, read it back, close).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Whether a loopback port can be bound right now.
inline bool port_free(int port) {
  if (port <= 0 || port > 65535) return false;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A --port-offset at which every one of `ports` (the engines' default ports) can listen.
//
// Offsets are drawn at random from ports below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range): a port inside it can be taken, between our check
// and the engine's bind, by any outgoing connection of a test running beside this one (a CI
// run saw "Address already in use" that way), while nothing but another such offset lands
// below it.
inline int free_port_offset(const std::vector<int>& ports) {
  int ephemeral_low = 32768;
  if (std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    int low = 0;
    int high = 0;
    if (std::fscanf(f, "%d %d", &low, &high) == 2 && low > 12000) ephemeral_low = low;
    std::fclose(f);
  }
  const auto [lo_it, hi_it] = std::minmax_element(ports.begin(), ports.end());
  const int lo = ports.empty() ? 0 : *lo_it;
  const int hi = ports.empty() ? 0 : *hi_it;
  // Offsets that put every port within [10000, ephemeral_low).
  const int first = 10000 - lo;
  const int last = ephemeral_low - 1 - hi;
  std::mt19937 rng(
      static_cast<unsigned>(::getpid()) ^
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<int> pick(first, std::max(first, last));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int offset = pick(rng);
    bool all = true;
    for (const int p : ports) all = all && port_free(p + offset);
    if (all) return offset;
  }
  return pick(rng);
}

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until the peer closes or `timeout` passes; returns what arrived.
  std::string read_until_close(std::chrono::milliseconds timeout) {
    std::string out;
    read_some(out, timeout, [](const std::string&) { return false; });
    return out;
  }

  // Reads one response (headers and a Content-Length body).
  std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    read_some(buffer_, timeout, [](const std::string& s) { return complete_response(s) > 0; });
    const std::size_t n = complete_response(buffer_);
    std::string out = buffer_.substr(0, n == 0 ? buffer_.size() : n);
    buffer_.erase(0, out.size());
    return out;
  }

  // True when the peer has closed the connection (within `timeout`).
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
  }

  static std::size_t complete_response(const std::string& s) {
    const std::size_t end = s.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    std::size_t length = 0;
    const std::string head = s.substr(0, end);
    for (std::string key : {"Content-Length: ", "content-length: "}) {
      const std::size_t p = head.find(key);
      if (p != std::string::npos) length = std::stoul(head.substr(p + key.size()));
    }
    return s.size() >= end + 4 + length ? end + 4 + length : 0;
  }

 private:
  template <class Done>
  void read_some(std::string& out, std::chrono::milliseconds timeout, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    while (!done(out)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
  std::string buffer_;
};

struct HttpResult {
  int status = 0;  // 0: no response
  std::string headers;
  std::string body;
};

inline HttpResult parse_response(const std::string& raw) {
  HttpResult r;
  if (raw.size() < 12 || !raw.starts_with("HTTP/1.")) return r;
  r.status = std::stoi(raw.substr(9, 3));
  const std::size_t end = raw.find("\r\n\r\n");
  r.headers = raw.substr(0, end);
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  return r;
}

// One request on a fresh connection.
inline HttpResult http_request(std::uint16_t port, std::string_view method, std::string_view path,
                               std::string_view body = {}, std::string_view extra_headers = {}) {
  RawConnection c(port);
  if (!c.connected()) return {};
  std::string req = std::string(method) + " " + std::string(path) +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    std::string(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  if (!c.send(req)) return {};
  return parse_response(c.read_response());
}

inline HttpResult http_get(std::uint16_t port, std::string_view path) {
  return http_request(port, "GET", path);
}

}  // namespace nautilus::test
