// The Beast side of test::WsReplayServer (ws_replay_server.hpp): one connection at a time on the
// server's own thread, each run by the test's script.
#include "support/ws_replay_server.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <mutex>
#include <optional>
#include <thread>

namespace nautilus::test {

namespace ws_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
// One io_context: its executor type, named, rather than Asio's type-erased any_io_executor.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using TcpStream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Steady = std::chrono::steady_clock;
}  // namespace ws_detail

class WsReplayServer::Impl {
 public:
  Impl(WsScript script, const WsServerOptions& options)
      : script_(std::move(script)), acceptor_(ioc_) {
    using namespace ws_detail;
    if (!options.cert_file.empty() && !options.key_file.empty()) {
      ssl_.emplace(ssl::context::tls_server);
      ssl_->use_certificate_chain_file(options.cert_file);
      ssl_->use_private_key_file(options.key_file, ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~Impl() {
    stop_ = true;
    thread_.join();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url(std::string_view path = "/ws",
                                std::string_view host = "127.0.0.1") const {
    return std::string(ssl_ ? "wss://" : "ws://") + std::string(host) + ":" +
           std::to_string(port_) + std::string(path);
  }
  // Connections upgraded so far (the script's `connection` counts these).
  [[nodiscard]] int sessions() const { return sessions_.load(); }
  // Every frame every client sent, in order, and when it arrived.
  [[nodiscard]] std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  [[nodiscard]] std::vector<ws_detail::Steady::time_point> received_at() const {
    std::lock_guard lock(mu_);
    return received_at_;
  }
  // Connections that failed before the script ran (a refused TLS handshake), in words.
  [[nodiscard]] std::vector<std::string> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  template <class Ws>
  class Session;

  template <class F>
  bool run_until(F done, ws_detail::Steady::time_point deadline) {
    using ws_detail::Steady;
    while (!done()) {
      if (stop_) return false;
      const auto now = Steady::now();
      if (now >= deadline) return false;
      if (ioc_.stopped()) ioc_.restart();
      ioc_.run_one_for(std::min<Steady::duration>(deadline - now, std::chrono::milliseconds(10)));
    }
    return true;
  }
  // Lets every cancelled operation's handler run, so none outlives what it refers to.
  void drain() {
    ioc_.restart();
    ioc_.run();
  }
  template <class Ws>
  void abandon(Ws& ws) {
    ws_detail::beast::error_code ec;
    ws_detail::beast::get_lowest_layer(ws).socket().close(ec);
    drain();
  }
  void record(const std::string& frame) {
    std::lock_guard lock(mu_);
    received_.push_back(frame);
    received_at_.push_back(ws_detail::Steady::now());
  }
  void failed(std::string what) {
    std::lock_guard lock(mu_);
    failures_.push_back(std::move(what));
  }

  template <class Ws>
  void upgrade_and_run(Ws& ws) {
    using namespace ws_detail;
    const auto deadline = Steady::now() + std::chrono::seconds(5);
    beast::error_code ec;
    bool done = false;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::async_read(ws.next_layer(), buffer, req, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!run_until([&] { return done; }, deadline) || ec) {
      failed("upgrade request: " + (done ? ec.message() : std::string("timed out")));
      abandon(ws);  // the handlers refer to this frame
      return;
    }
    done = false;
    ws.async_accept(req, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (!run_until([&] { return done; }, deadline) || ec) {
      failed("websocket accept: " + (done ? ec.message() : std::string("timed out")));
      abandon(ws);
      return;
    }
    Session<Ws> session(*this, ws, std::string(req.target()));
    session.start_read();
    script_(session, sessions_++);
    session.finish();
  }

  void serve() {
    using namespace ws_detail;
    while (!stop_) {
      Socket socket(ioc_);
      bool accepted = false;
      beast::error_code ec;
      acceptor_.async_accept(socket, [&](beast::error_code e) {
        ec = e;
        accepted = true;
      });
      if (!run_until([&] { return accepted; }, Steady::time_point::max())) {
        acceptor_.cancel();
        drain();
        return;
      }
      if (ec) continue;
      if (ssl_) {
        websocket::stream<beast::ssl_stream<TcpStream>> ws(std::move(socket), *ssl_);
        bool done = false;
        ws.next_layer().async_handshake(ssl::stream_base::server, [&](beast::error_code e) {
          ec = e;
          done = true;
        });
        if (!run_until([&] { return done; }, Steady::now() + std::chrono::seconds(5)) || ec) {
          failed("TLS handshake: " + (done ? ec.message() : std::string("timed out")));
        } else {
          upgrade_and_run(ws);
        }
        abandon(ws);
      } else {
        websocket::stream<TcpStream> ws(std::move(socket));
        upgrade_and_run(ws);
        abandon(ws);
      }
    }
  }

  WsScript script_;
  ws_detail::asio::io_context ioc_;
  ws_detail::Acceptor acceptor_;
  std::optional<ws_detail::ssl::context> ssl_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> sessions_{0};
  mutable std::mutex mu_;
  std::vector<std::string> received_;
  std::vector<ws_detail::Steady::time_point> received_at_;
  std::vector<std::string> failures_;
  std::thread thread_;
};

template <class Ws>
class WsReplayServer::Impl::Session final : public WsSession {
 public:
  Session(Impl& server, Ws& ws, std::string target)
      : server_(server), ws_(ws), target_(std::move(target)) {}

  // Reads all the time, so the client's frames are recorded and its pings and close frames are
  // answered whatever the script is doing.
  void start_read() {
    if (reading_ || gone_) return;
    reading_ = true;
    ws_.async_read(buffer_, [this](ws_detail::beast::error_code ec, std::size_t) {
      reading_ = false;
      if (ec) {
        gone_ = true;
        return;
      }
      std::string frame = ws_detail::beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      server_.record(frame);
      mine_.push_back(std::move(frame));
      start_read();
    });
  }

  bool send(std::string_view text) override {
    if (gone_) return false;
    out_.assign(text);
    write_done_ = false;
    ws_.text(true);
    ws_.async_write(ws_detail::asio::buffer(out_),
                    [this](ws_detail::beast::error_code ec, std::size_t) {
                      write_ec_ = ec;
                      write_done_ = true;
                    });
    return wait_write() && !write_ec_;
  }

  bool ping() override {
    if (gone_) return false;
    write_done_ = false;
    ws_.async_ping({}, [this](ws_detail::beast::error_code ec) {
      write_ec_ = ec;
      write_done_ = true;
    });
    return wait_write() && !write_ec_;
  }

  bool wait_received(std::size_t n, std::chrono::milliseconds timeout) override {
    server_.run_until([&] { return mine_.size() >= n || gone_; },
                      ws_detail::Steady::now() + timeout);
    return mine_.size() >= n;
  }

  bool stall(std::chrono::milliseconds limit) override {
    return server_.run_until([&] { return gone_; }, ws_detail::Steady::now() + limit);
  }

  void drop() override {
    ws_detail::beast::error_code ec;
    auto& socket = ws_detail::beast::get_lowest_layer(ws_).socket();
    socket.shutdown(ws_detail::tcp::socket::shutdown_both, ec);
    socket.close(ec);
    gone_ = true;
  }

  void close() override {
    if (gone_) return;
    bool done = false;
    ws_.async_close(ws_detail::websocket::close_code::normal,
                    [&done](ws_detail::beast::error_code) { done = true; });
    server_.run_until([&] { return done; }, ws_detail::Steady::now() + std::chrono::seconds(1));
    drop();
    server_.drain();  // the close's handler refers to `done`
  }

  // After the script: whatever is still open is closed and its handlers run out.
  void finish() {
    drop();
    server_.drain();
  }

  [[nodiscard]] const std::vector<std::string>& received() const override { return mine_; }
  [[nodiscard]] const std::string& target() const override { return target_; }

 private:
  bool wait_write() {
    const bool done = server_.run_until([&] { return write_done_; },
                                        ws_detail::Steady::now() + std::chrono::seconds(5));
    if (!done) drop();  // a client that does not read: give up on it
    return done;
  }

  Impl& server_;
  Ws& ws_;
  std::string target_;
  ws_detail::beast::flat_buffer buffer_;
  std::string out_;
  bool reading_ = false;
  bool gone_ = false;
  bool write_done_ = false;
  ws_detail::beast::error_code write_ec_;
  std::vector<std::string> mine_;
};

WsReplayServer::WsReplayServer(WsScript script, WsServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(script), options)) {}
WsReplayServer::~WsReplayServer() = default;
std::uint16_t WsReplayServer::port() const { return impl_->port(); }
std::string WsReplayServer::url(std::string_view path, std::string_view host) const {
  return impl_->url(path, host);
}
int WsReplayServer::sessions() const { return impl_->sessions(); }
std::vector<std::string> WsReplayServer::received() const { return impl_->received(); }
std::vector<std::chrono::steady_clock::time_point> WsReplayServer::received_at() const {
  return impl_->received_at();
}
std::vector<std::string> WsReplayServer::failures() const { return impl_->failures(); }

}  // namespace nautilus::test
