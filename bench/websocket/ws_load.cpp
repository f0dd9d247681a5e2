// The load generator of `nautilus bench websocket`: a separate program (Boost.Beast client), so
// that what it costs is not counted in the server's process. It opens --clients WebSocket
// connections to 127.0.0.1:--port, each bound to a source address 127.0.0.<first-ip + i % ips>
// (one address has only ~28k ephemeral ports, and the server limits connections per address),
// sends each one subscribe control message, then reads. For --seconds after --warmup it
// counts frames and, for frames carrying "ts_pub":<ns since the epoch>, the delay from publish
// to receipt on this machine's realtime clock. It prints one JSON line and exits:
//
//   {"clients":5000,"connected":5000,"failed":0,"closed":0,"frames":500123,"seconds":10,
//    "p50_ms":1.2,"p99_ms":8.4,"max_ms":30.1,"samples":500123}
//
//   nautilus_ws_load --port 8600 --clients 5000 --first-ip 2 --ips 6 --seconds 10 --warmup 3
//                    --subscribe 'market_data.*' [--path /ws] [--token T]
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

struct Options {
  unsigned short port = 8600;
  std::size_t clients = 1000;
  int first_ip = 2;
  int ips = 1;
  double seconds = 10;
  double warmup = 3;
  std::string subscribe = "*";
  std::string path = "/ws";
  std::string token;
  std::size_t in_flight = 256;  // handshakes at once
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Run {
  Options o;
  asio::io_context ioc{1};
  std::size_t started = 0, connected = 0, failed = 0, closed = 0, pending = 0;
  bool measuring = false;
  std::uint64_t frames = 0;
  std::vector<std::uint32_t> latency_us;  // of the frames in the window
  std::string first_error;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Run& run, std::size_t index) : run_(run), ws_(run.ioc), index_(index) {}

  void start() {
    auto& sock = beast::get_lowest_layer(ws_);
    beast::error_code ec;
    (void)sock.open(tcp::v4(), ec);
    const std::string ip =
        fmt::format("127.0.0.{}", run_.o.first_ip + static_cast<int>(index_ % run_.o.ips));
    if (!ec) (void)sock.bind(tcp::endpoint(asio::ip::make_address(ip), 0), ec);
    if (ec) return fail(ec, "bind " + ip);
    sock.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), run_.o.port),
                       [self = shared_from_this()](beast::error_code e) {
                         if (e) return self->fail(e, "connect");
                         self->handshake();
                       });
  }

 private:
  void handshake() {
    ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      if (!run_.o.token.empty())
        req.set(beast::http::field::authorization, "Bearer " + run_.o.token);
    }));
    ws_.read_message_max(1 << 20);
    ws_.async_handshake(fmt::format("127.0.0.1:{}", run_.o.port), run_.o.path,
                        [self = shared_from_this()](beast::error_code e) {
                          if (e) return self->fail(e, "handshake");
                          self->opened();
                        });
  }

  void opened() {
    ++run_.connected;
    handshaking_done();
    sub_ = fmt::format(R"({{"op":"subscribe","topics":["{}"]}})", run_.o.subscribe);
    ws_.text(true);
    ws_.async_write(asio::buffer(sub_),
                    [self = shared_from_this()](beast::error_code e, std::size_t) {
                      if (e) return self->lost();
                      self->read();
                    });
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code e, std::size_t) {
      if (e) return self->lost();
      self->on_frame();
      self->read();
    });
  }

  void on_frame() {
    auto& r = run_;
    if (r.measuring) {
      ++r.frames;
      const auto d = buf_.cdata();
      const std::string_view text(static_cast<const char*>(d.data()), d.size());
      constexpr std::string_view kKey = "\"ts_pub\":";
      if (const auto at = text.find(kKey); at != std::string_view::npos) {
        std::int64_t ts = 0;
        for (std::size_t i = at + kKey.size(); i < text.size() && text[i] >= '0' && text[i] <= '9';
             ++i) {
          ts = ts * 10 + (text[i] - '0');
        }
        const std::int64_t us = std::max<std::int64_t>(0, (now_ns() - ts) / 1000);
        r.latency_us.push_back(
            static_cast<std::uint32_t>(std::min<std::int64_t>(us, 4'000'000'000)));
      }
    }
    buf_.consume(buf_.size());
  }

  void fail(beast::error_code ec, const std::string& what) {
    ++run_.failed;
    if (run_.first_error.empty()) run_.first_error = fmt::format("{}: {}", what, ec.message());
    handshaking_done();
  }
  void lost() { ++run_.closed; }

  void handshaking_done() {
    if (counted_) return;
    counted_ = true;
    --run_.pending;
    launch_more(run_);
  }

 public:
  static void launch_more(Run& r) {
    while (r.started < r.o.clients && r.pending < r.o.in_flight) {
      ++r.started;
      ++r.pending;
      std::make_shared<Client>(r, r.started - 1)->start();
    }
  }

 private:
  Run& run_;
  websocket::stream<tcp::socket> ws_;
  std::size_t index_;
  beast::flat_buffer buf_;
  std::string sub_;
  bool counted_ = false;
};

double percentile_ms(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return -1;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Run r;
  auto& o = r.o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--port")
      o.port = static_cast<unsigned short>(std::atoi(v));
    else if (k == "--clients")
      o.clients = std::strtoul(v, nullptr, 10);
    else if (k == "--first-ip")
      o.first_ip = std::atoi(v);
    else if (k == "--ips")
      o.ips = std::max(1, std::atoi(v));
    else if (k == "--seconds")
      o.seconds = std::atof(v);
    else if (k == "--warmup")
      o.warmup = std::atof(v);
    else if (k == "--subscribe")
      o.subscribe = v;
    else if (k == "--path")
      o.path = v;
    else if (k == "--token")
      o.token = v;
    else {
      fmt::print(stderr, "nautilus_ws_load: unknown option {}\n", k);
      return 2;
    }
  }
  Client::launch_more(r);
  // The window opens `warmup` seconds after the last handshake (or after 60 s, whichever
  // first), so connecting does not count against the latency.
  asio::steady_timer timer(r.ioc);
  const auto t0 = std::chrono::steady_clock::now();
  std::function<void()> poll = [&] {
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait([&](beast::error_code) {
      const bool all_in = r.pending == 0 && r.started == o.clients;
      if (all_in || std::chrono::steady_clock::now() - t0 > std::chrono::seconds(60)) {
        timer.expires_after(std::chrono::milliseconds(static_cast<int>(o.warmup * 1000)));
        timer.async_wait([&](beast::error_code) {
          r.measuring = true;
          r.latency_us.reserve(1 << 20);
          timer.expires_after(std::chrono::milliseconds(static_cast<int>(o.seconds * 1000)));
          timer.async_wait([&](beast::error_code) {
            r.measuring = false;
            r.ioc.stop();
          });
        });
        return;
      }
      poll();
    });
  };
  poll();
  r.ioc.run();
  const double p50 = percentile_ms(r.latency_us, 0.50);
  const double p99 = percentile_ms(r.latency_us, 0.99);
  const double mx = percentile_ms(r.latency_us, 1.0);
  fmt::print(
      "{{\"clients\":{},\"connected\":{},\"failed\":{},\"closed\":{},\"frames\":{},"
      "\"seconds\":{},\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},\"max_ms\":{:.3f},\"samples\":{},"
      "\"error\":\"{}\"}}\n",
      o.clients, r.connected, r.failed, r.closed, r.frames, o.seconds, p50, p99, mx,
      r.latency_us.size(), r.first_error);
  std::fflush(stdout);
  std::_Exit(0);  // 5,000 sockets closed by the kernel, not one by one
}
