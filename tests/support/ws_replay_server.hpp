// A WebSocket server on 127.0.0.1 for tests (Boost.Beast): plain ws, or wss with a certificate
// the test made (make_test_certificate). It serves one connection at a time, on its own thread,
// by a script the test writes per connection: send recorded frames, wait for what the client
// sends (every frame is recorded), ping, drop the connection without a close frame, or stall
// (keep it open and send nothing). Every wait is bounded, and all of them end when the server
// is destroyed. The Beast code is compiled once, in ws_replay_server.cpp, so a test that uses
// the server does not instantiate Beast's templates itself (under ASan+UBSan that took minutes).
//
//   test::WsReplayServer server([&](test::WsSession& s, int n) {
//     if (!s.wait_received(1, 2s)) return;        // the client's SUBSCRIBE
//     s.send(R"({"result":null,"id":1})");
//     if (n == 0) s.drop(); else s.stall(3s);
//   });
//   auto ws = net::WebSocketClient::connect(server.url("/ws"));
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::test {

// One connection as a script sees it. Calls return false once the client is gone (or the
// server is stopping).
class WsSession {
 public:
  virtual ~WsSession() = default;
  virtual bool send(std::string_view text) = 0;
  virtual bool ping() = 0;
  // Waits until the client has sent `n` frames on this connection, at most `timeout`.
  virtual bool wait_received(std::size_t n, std::chrono::milliseconds timeout) = 0;
  // Sends nothing, still reading, until the client goes away (true) or `limit` passes.
  virtual bool stall(std::chrono::milliseconds limit) = 0;
  // Closes the TCP connection with no close frame, as a crashed server or a cut line would.
  virtual void drop() = 0;
  // The close handshake.
  virtual void close() = 0;
  [[nodiscard]] virtual const std::vector<std::string>& received() const = 0;
  [[nodiscard]] virtual const std::string& target() const = 0;  // the upgrade request's path
};

using WsScript = std::function<void(WsSession&, int connection)>;

struct WsServerOptions {
  std::string cert_file;  // wss when both are set
  std::string key_file;
};

class WsReplayServer {
 public:
  explicit WsReplayServer(WsScript script, WsServerOptions options = {});
  ~WsReplayServer();
  WsReplayServer(const WsReplayServer&) = delete;
  WsReplayServer& operator=(const WsReplayServer&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] std::string url(std::string_view path = "/ws",
                                std::string_view host = "127.0.0.1") const;
  // Connections upgraded so far (the script's `connection` counts these).
  [[nodiscard]] int sessions() const;
  // Every frame every client sent, in order, and when it arrived.
  [[nodiscard]] std::vector<std::string> received() const;
  [[nodiscard]] std::vector<std::chrono::steady_clock::time_point> received_at() const;
  // Connections that failed before the script ran (a refused TLS handshake), in words.
  [[nodiscard]] std::vector<std::string> failures() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A self-signed certificate for the name localhost only (so 127.0.0.1 is a wrong name), made with
// the openssl command in a temporary directory that is removed with the object.
class TestCertificate {
 public:
  TestCertificate() {
    dir_ = std::filesystem::temp_directory_path() /
           ("nautilus-ws-tls-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    const std::string gen =
        "cd " + dir_.string() +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1"
        " -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1";
    ok_ = std::system(gen.c_str()) == 0;
  }
  ~TestCertificate() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string cert() const { return (dir_ / "cert.pem").string(); }
  [[nodiscard]] std::string key() const { return (dir_ / "key.pem").string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

}  // namespace nautilus::test
