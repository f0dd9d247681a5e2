#include "nautilus/net/websocket_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <optional>

namespace nautilus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;
using core::ErrorCode;
using core::fail;

core::Result<Url> parse_ws_url(std::string_view url) {
  bool tls = false;
  if (url.starts_with("wss://")) {
    tls = true;
    url.remove_prefix(6);
  } else if (url.starts_with("ws://")) {
    url.remove_prefix(5);
  } else {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("websocket url must start with ws:// or wss://: '{}'", url));
  }
  return parse_url(fmt::format("{}://{}", tls ? "https" : "http", url));
}

namespace {

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

enum class Wait : std::uint8_t { kDone, kTimeout, kCancelled };

// The slice a wait runs the event loop for before it looks at the cancel flag again.
constexpr auto kCancelSlice = std::chrono::milliseconds(25);

}  // namespace

struct WebSocketClient::Impl {
  // Declared first so it is destroyed last: operations still queued when a deadline passed are
  // destroyed with it, never run against the members below.
  asio::io_context ioc;
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::string host;
  std::string port;
  const std::atomic<bool>* cancel = nullptr;
  // The state of operations in flight lives here, not on a caller's stack: a read that outlived
  // a receive's deadline completes during a later call.
  beast::flat_buffer buffer;
  bool read_pending = false;
  bool read_done = false;
  beast::error_code read_ec;
  bool write_done = false;
  beast::error_code write_ec;
  bool close_done = false;
  std::string out;  // the frame being written (the caller's view may not outlive a timeout)
  std::uint64_t control = 0;
  bool broken = false;  // after the first failure every call answers `error`
  core::Error error;
  // Last, so they are destroyed first (their pending operations go to `ioc`, uninvoked).
  std::optional<PlainWs> plain;
  std::optional<TlsWs> tls;

  template <class F>
  decltype(auto) visit(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }
  beast::tcp_stream& lowest() {
    return tls ? beast::get_lowest_layer(*tls) : beast::get_lowest_layer(*plain);
  }
  std::unexpected<core::Error> broke(ErrorCode code, std::string message) {
    broken = true;
    error = core::Error{code, fmt::format("{}: {}", host, message)};
    return std::unexpected(error);
  }
  // Runs the event loop until `done`, the deadline or a cancel.
  Wait run_until(const bool& done, Steady::time_point deadline) {
    while (!done) {
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return Wait::kCancelled;
      const auto now = Steady::now();
      if (now >= deadline) return Wait::kTimeout;
      if (ioc.stopped()) ioc.restart();
      ioc.run_one_for(std::min<Steady::duration>(deadline - now, kCancelSlice));
    }
    return Wait::kDone;
  }
};

WebSocketClient::WebSocketClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocketClient::WebSocketClient(WebSocketClient&&) noexcept = default;
WebSocketClient& WebSocketClient::operator=(WebSocketClient&&) noexcept = default;
WebSocketClient::~WebSocketClient() = default;

core::Result<WebSocketClient> WebSocketClient::connect(std::string_view url,
                                                       const WebSocketOptions& o) {
  auto u = parse_ws_url(url);
  if (!u) return std::unexpected(u.error());
  for (const auto& [name, value] : o.headers) {
    const auto bad = [](std::string_view s) { return s.find_first_of("\r\n") != s.npos; };
    if (name.empty() || bad(name) || bad(value)) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("websocket header '{}' is empty or has a line break", name));
    }
  }
  auto m = std::make_unique<Impl>();
  m->host = u->host;
  m->port = u->port;
  m->cancel = o.cancel;
  const std::string where = fmt::format("{}:{}", u->host, u->port);
  const auto deadline = Steady::now() + o.timeout;

  // Each step runs asynchronously until it completes or the deadline passes. A step that fails
  // ends connect(), and its handler, which refers to this frame, dies uninvoked with `m`.
  const auto step = [&](std::string_view what, auto start) -> core::Result<void> {
    bool done = false;
    beast::error_code ec;
    start([&](beast::error_code e, auto&&...) {
      ec = e;
      done = true;
    });
    switch (m->run_until(done, deadline)) {
      case Wait::kTimeout:
        return fail(ErrorCode::kTimeout,
                    fmt::format("{}: {}: timed out after {} ms", where, what, o.timeout.count()));
      case Wait::kCancelled:
        return fail(ErrorCode::kClosed, fmt::format("{}: {}: cancelled", where, what));
      case Wait::kDone:
        break;
    }
    if (ec) return fail(ErrorCode::kIo, fmt::format("{}: {}: {}", where, what, ec.message()));
    return {};
  };

  tcp::resolver resolver(m->ioc);
  tcp::resolver::results_type endpoints;
  if (auto r = step("resolve",
                    [&](auto h) {
                      resolver.async_resolve(
                          u->host, u->port,
                          [&, h](beast::error_code ec, tcp::resolver::results_type res) mutable {
                            endpoints = std::move(res);
                            h(ec);
                          });
                    });
      !r) {
    return std::unexpected(r.error());
  }

  if (u->tls) {
    beast::error_code ec;
    (void)m->ssl_ctx.set_default_verify_paths(ec);
    if (!o.ca_file.empty()) {
      (void)m->ssl_ctx.load_verify_file(o.ca_file, ec);
      if (ec) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("ca_file {}: {}", o.ca_file, ec.message()));
      }
    }
    m->ssl_ctx.set_verify_mode(ssl::verify_peer);
    m->tls.emplace(m->ioc, m->ssl_ctx);
    if (!SSL_set_tlsext_host_name(m->tls->next_layer().native_handle(), u->host.c_str())) {
      return fail(ErrorCode::kIo, fmt::format("{}: cannot set SNI", where));
    }
    m->tls->next_layer().set_verify_callback(ssl::host_name_verification(u->host));
  } else {
    m->plain.emplace(m->ioc);
  }
  m->lowest().expires_at(deadline);
  if (auto r = step("connect", [&](auto h) { m->lowest().async_connect(endpoints, std::move(h)); });
      !r) {
    return std::unexpected(r.error());
  }
  if (m->tls) {
    if (auto r = step("TLS handshake",
                      [&](auto h) {
                        m->tls->next_layer().async_handshake(ssl::stream_base::client,
                                                             std::move(h));
                      });
        !r) {
      return std::unexpected(r.error());
    }
  }
  const bool default_port = u->port == (u->tls ? "443" : "80");
  const std::string host_header = default_port ? u->host : where;
  auto upgraded = m->visit([&](auto& ws) {
    ws.set_option(websocket::stream_base::decorator(
        [ua = o.user_agent, headers = o.headers](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, ua);
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
    ws.read_message_max(o.max_frame_bytes);
    Impl* raw = m.get();
    ws.control_callback([raw](websocket::frame_type, beast::string_view) { ++raw->control; });
    return step("websocket upgrade",
                [&](auto h) { ws.async_handshake(host_header, u->target, std::move(h)); });
  });
  if (!upgraded) return std::unexpected(upgraded.error());
  // From here each call sets its own deadline; the stream's would close the socket.
  m->lowest().expires_never();
  return WebSocketClient(std::move(m));
}

core::Result<void> WebSocketClient::send(std::string_view text, std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  if (m.broken) return std::unexpected(m.error);
  m.out.assign(text);
  m.write_done = false;
  m.visit([&m](auto& ws) {
    ws.text(true);
    ws.async_write(asio::buffer(m.out), [p = &m](beast::error_code ec, std::size_t) {
      p->write_ec = ec;
      p->write_done = true;
    });
  });
  switch (m.run_until(m.write_done, Steady::now() + timeout)) {
    case Wait::kTimeout:
      // Half a frame may be on the wire: the connection cannot be used any more.
      return m.broke(ErrorCode::kTimeout,
                     fmt::format("send: not taken within {} ms", timeout.count()));
    case Wait::kCancelled:
      return m.broke(ErrorCode::kClosed, "send: cancelled");
    case Wait::kDone:
      break;
  }
  if (m.write_ec) {
    return m.broke(m.write_ec == websocket::error::closed ? ErrorCode::kClosed : ErrorCode::kIo,
                   fmt::format("send: {}", m.write_ec.message()));
  }
  return {};
}

core::Result<std::string> WebSocketClient::receive(std::chrono::milliseconds timeout) {
  std::string frame;
  if (auto r = receive_into(frame, timeout); !r) return std::unexpected(r.error());
  return frame;
}

core::Result<void> WebSocketClient::receive_into(std::string& frame,
                                                 std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  if (m.broken) return std::unexpected(m.error);
  if (!m.read_pending) {
    m.read_pending = true;
    m.read_done = false;
    m.buffer.clear();
    m.visit([&m](auto& ws) {
      ws.async_read(m.buffer, [p = &m](beast::error_code ec, std::size_t) {
        p->read_ec = ec;
        p->read_done = true;
      });
    });
  }
  switch (m.run_until(m.read_done, Steady::now() + timeout)) {
    case Wait::kTimeout:
      // The read stays pending: the next call goes on waiting for the same frame.
      return fail(ErrorCode::kTimeout,
                  fmt::format("{}: no frame within {} ms", m.host, timeout.count()));
    case Wait::kCancelled:
      return m.broke(ErrorCode::kClosed, "receive: cancelled");
    case Wait::kDone:
      break;
  }
  m.read_pending = false;
  if (const auto ec = m.read_ec; ec) {
    if (ec == websocket::error::closed) {
      const auto& reason =
          m.visit([](auto& ws) -> const websocket::close_reason& { return ws.reason(); });
      return m.broke(ErrorCode::kClosed,
                     fmt::format("closed by the server (code {}{}{})", reason.code,
                                 reason.reason.empty() ? "" : ": ", reason.reason.c_str()));
    }
    if (ec == websocket::error::message_too_big) {
      return m.broke(ErrorCode::kCapacity, "a message is larger than max_frame_bytes");
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated) {
      return m.broke(ErrorCode::kClosed, fmt::format("connection dropped ({})", ec.message()));
    }
    return m.broke(ErrorCode::kIo, fmt::format("receive: {}", ec.message()));
  }
  const auto data = m.buffer.data();
  frame.assign(static_cast<const char*>(data.data()), data.size());
  m.buffer.consume(m.buffer.size());
  return {};
}

void WebSocketClient::close(std::chrono::milliseconds timeout) {
  if (!impl_) return;
  Impl& m = *impl_;
  beast::error_code ec;
  if (!m.broken && m.visit([](auto& ws) { return ws.is_open(); })) {
    m.close_done = false;
    m.visit([&m](auto& ws) {
      ws.async_close(websocket::close_code::normal,
                     [p = &m](beast::error_code) { p->close_done = true; });
    });
    (void)m.run_until(m.close_done, Steady::now() + timeout);
  }
  (void)m.lowest().socket().close(ec);
  if (!m.broken) {
    m.broken = true;
    m.error = core::Error{ErrorCode::kClosed, fmt::format("{}: closed", m.host)};
  }
}

bool WebSocketClient::is_open() const noexcept {
  return impl_ && !impl_->broken && impl_->visit([](auto& ws) { return ws.is_open(); });
}

const std::string& WebSocketClient::host() const noexcept {
  static const std::string none;
  return impl_ ? impl_->host : none;
}

std::uint64_t WebSocketClient::control_frames() const noexcept {
  return impl_ ? impl_->control : 0;
}

}  // namespace nautilus::net
