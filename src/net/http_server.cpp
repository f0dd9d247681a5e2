// The Beast side of HttpServer. One io_context, `threads` threads, a strand per connection.
// A connection waits for a request's first byte under the idle timeout, then must deliver the
// whole request within the read timeout: a slow sender (slowloris) is cut off without holding
// a thread, and a quiet keep-alive client is not.
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <optional>
#include <thread>

#include "nautilus/net/http.hpp"
#include "nautilus/net/prometheus.hpp"
#include "websocket_accept.hpp"

namespace nautilus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Counters {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses_2xx{0};
  std::atomic<std::uint64_t> responses_4xx{0};
  std::atomic<std::uint64_t> responses_5xx{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> header_too_large{0};
  std::atomic<std::uint64_t> body_too_large{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> unauthorized{0};
  std::atomic<std::uint64_t> tls_handshake_failed{0};
  std::atomic<std::uint64_t> not_found{0};
  std::atomic<std::uint64_t> handler_errors{0};
};

void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

Method to_method(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::kGet;
    case http::verb::head:
      return Method::kHead;
    case http::verb::post:
      return Method::kPost;
    case http::verb::put:
      return Method::kPut;
    case http::verb::delete_:
      return Method::kDelete;
    default:
      return Method::kOther;
  }
}

}  // namespace

struct HttpServer::Impl {
  Router router;
  ServerOptions options;
  // Declared before the io_contexts: sessions still queued in them are destroyed with them
  // and count themselves out of `counters` as they go.
  Counters counters;
  // One single-threaded io_context per thread, connections dealt round-robin: a connection
  // lives on one thread, so its handlers need no strand (nginx's worker model).
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::size_t next_ioc = 0;
  asio::io_context& ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::unique_ptr<asio::thread_pool> blocking_pool;  // only when the router has blocking routes
  std::uint16_t port = 0;
  std::atomic<bool> stopped{false};
  std::optional<asio::ssl::context> tls;  // set when the options give a certificate

  explicit Impl(Router r, ServerOptions o)
      : router(std::move(r)),
        options(std::move(o)),
        iocs(make_iocs(options.threads)),
        ioc(*iocs.front()) {}
  static std::vector<std::unique_ptr<asio::io_context>> make_iocs(std::size_t n) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) {
      v.push_back(std::make_unique<asio::io_context>(1));
    }
    return v;
  }
  void accept();
};

namespace {

using TlsStream = asio::ssl::stream<tcp::socket>;

// A connection over `Stream`: a TCP socket, or TLS over one (HTTPS).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server)
      : stream_(make_stream(std::move(socket), server)),
        timer_(stream_.get_executor()),
        server_(server) {}
  ~Session() { server_.counters.connections_open.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::begin, shared_from_this()));
  }

 private:
  static Stream make_stream(tcp::socket&& socket, HttpServer::Impl& server) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server.tls);
    } else {
      (void)server;
      return std::move(socket);
    }
  }

  // HTTPS first completes the TLS handshake, within the read timeout: a client that connects
  // and says nothing, or speaks plain HTTP to the port, is counted and closed.
  void begin() {
    if constexpr (kTls) {
      handshaking_ = true;
      set_deadline(server_.options.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = shared_from_this()](beast::error_code ec) {
                                self->handshaking_ = false;
                                if (ec) {
                                  // Timed out or refused alike (a shutdown's abort aside).
                                  if (ec != asio::error::operation_aborted || self->timed_out_)
                                    bump(self->server_.counters.tls_handshake_failed);
                                  self->close();
                                  return;
                                }
                                self->wait_for_request();
                              });
    } else {
      wait_for_request();
    }
  }

  void wait_for_request() {
    if (buffer_.size() > 0) {  // a pipelined request is already here
      read_request();
      return;
    }
    set_deadline(server_.options.idle_timeout);
    auto space = buffer_.prepare(4096);
    stream_.async_read_some(space,
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) {
                                self->finish_on_error(ec, /*mid_request=*/false);
                                return;
                              }
                              self->read_request();
                            });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    parser_->body_limit(server_.options.body_limit);
    parser_->eager(true);
    // Usually the whole request is already in the buffer: parse it here rather than through
    // another asynchronous read (one handler dispatch less per request).
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) {
        finish_on_error(ec, /*mid_request=*/true);
        return;
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) {
      set_deadline(kNoDeadline);
      handle(parser_->release());
      return;
    }
    set_deadline(server_.options.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      finish_on_error(ec, /*mid_request=*/true);
      return;
    }
    set_deadline(kNoDeadline);
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): read_request() engaged it
    handle(parser_->release());
  }

  // Malformed or oversize requests get their 4xx and the connection is closed: after a
  // framing error nothing later on the stream can be trusted.
  void finish_on_error(beast::error_code ec, bool mid_request) {
    auto& c = server_.counters;
    if (timed_out_) {  // the deadline closed the socket; counted there
      close();
      return;
    }
    // A TLS client that closes without close_notify reads as stream_truncated: a hang-up too.
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated) {
      close();
      return;
    }
    if (!mid_request) {
      close();
      return;
    }
    int status = 400;
    std::string_view why = "malformed HTTP request";
    if (ec == http::error::header_limit) {
      bump(c.header_too_large);
      status = 431;
      why = "request header fields too large";
    } else if (ec == http::error::body_limit) {
      bump(c.body_too_large);
      status = 413;
      why = "request body too large";
    } else {
      bump(c.malformed);
    }
    Response r = Response::error(status, fmt::format("{}: {}", why, ec.message()));
    send(std::move(r), /*keep_alive=*/false, /*head=*/false, 11);
  }

  void handle(http::request<http::string_body> req) {
    bump(server_.counters.requests);
    Request q = make_request(req);
    if (beast::websocket::is_upgrade(req)) {
      if (WebSocketService* ws = server_.router.websocket_for(q.path)) {
        // The socket leaves this session (which then ends) for the WebSocket service.
        timer_.cancel();
        detail::accept_websocket(*ws, std::move(stream_), std::move(req));
        return;
      }
    }
    bool path_matched = false;
    const Router::Route* route = server_.router.find(q, &path_matched);
    if (server_.blocking_pool && Router::blocking(route)) {
      // The request must outlive this call while the pool runs the handler.
      auto owned = std::make_shared<http::request<http::string_body>>(std::move(req));
      asio::post(*server_.blocking_pool, [self = shared_from_this(), owned, route]() {
        Request q2 = make_request(*owned);
        bool matched = false;
        (void)self->server_.router.find(q2, &matched);  // re-point params into `owned`
        Response res = self->run_handler(route, true, q2);
        asio::post(self->stream_.get_executor(), [self, owned, res = std::move(res)]() mutable {
          self->send(std::move(res), owned->keep_alive(), owned->method() == http::verb::head,
                     owned->version());
        });
      });
      return;
    }
    Response res = run_handler(route, path_matched, q);
    send(std::move(res), req.keep_alive(), req.method() == http::verb::head, req.version());
  }

  static Request make_request(const http::request<http::string_body>& req) {
    Request q;
    q.method = to_method(req.method());
    const std::string_view target(req.target().data(), req.target().size());
    const std::size_t qm = target.find('?');
    q.path = target.substr(0, qm);
    if (qm != std::string_view::npos) q.query = target.substr(qm + 1);
    q.body = req.body();
    const auto auth = req[http::field::authorization];
    q.authorization = std::string_view(auth.data(), auth.size());
    return q;
  }

  Response run_handler(const Router::Route* route, bool path_matched, Request& q) {
    auto& c = server_.counters;
    Response res;
    Router::Outcome outcome = Router::Outcome::kHandled;
    try {
      res = server_.router.run(route, path_matched, q, server_.options.bearer_token, &outcome);
    } catch (const std::exception& e) {
      bump(c.handler_errors);
      res = Response::error(500, fmt::format("internal error: {}", e.what()));
    }
    if (outcome == Router::Outcome::kUnauthorized) bump(c.unauthorized);
    if (outcome == Router::Outcome::kNotFound || outcome == Router::Outcome::kMethodNotAllowed) {
      bump(c.not_found);
    }
    return res;
  }

  void send(Response r, bool keep_alive, bool head, unsigned version) {
    auto& c = server_.counters;
    if (r.status >= 500) {
      bump(c.responses_5xx);
    } else if (r.status >= 400) {
      bump(c.responses_4xx);
    } else if (r.status >= 200 && r.status < 300) {
      bump(c.responses_2xx);
    }
    response_.emplace(static_cast<http::status>(r.status), version);
    response_->set(http::field::server, "nautilus");
    response_->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) response_->set(k, v);
    response_->keep_alive(keep_alive);
    const std::size_t length = r.body.size();
    if (!head) response_->body() = std::move(r.body);
    response_->content_length(length);
    set_deadline(server_.options.read_timeout);  // a client that never reads
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive) {
                          self->close();
                          return;
                        }
                        self->wait_for_request();
                      });
  }

  // Over TLS without a close_notify: every response carries its length, so a cut-off one is
  // seen as such, and a client that stopped reading must not hold the connection open.
  void close() {
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_);
    (void)socket.shutdown(tcp::socket::shutdown_send, ignored);
    (void)socket.close(ignored);
    timer_.cancel();
  }

  // Deadlines are a time stored per phase, checked by one timer that is re-armed only when it
  // fires early. Re-arming an Asio timer per request costs reactor work (and often a
  // timerfd_settime call) on every request; this costs a clock read.
  static constexpr std::chrono::milliseconds kNoDeadline{0};
  void set_deadline(std::chrono::milliseconds d) {
    deadline_ = d == kNoDeadline ? std::chrono::steady_clock::time_point::max()
                                 : std::chrono::steady_clock::now() + d;
    // Re-arm only when the deadline moved earlier than the pending wait (idle -> read).
    if (d != kNoDeadline && (!timer_armed_ || deadline_ < armed_for_)) arm_timer();
  }
  void arm_timer() {
    timer_armed_ = true;
    armed_for_ = deadline_;
    timer_.expires_at(deadline_);  // cancels a pending wait: its handler sees operation_aborted
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted) return;  // re-armed or closed
      self->timer_armed_ = false;
      if (!beast::get_lowest_layer(self->stream_).is_open()) return;
      if (std::chrono::steady_clock::now() >= self->deadline_) {
        self->timed_out_ = true;
        // A handshake cut off is counted as such, by its handler.
        if (!self->handshaking_) bump(self->server_.counters.timeouts);
        beast::error_code ignored;
        // Pending reads and writes end with an error.
        (void)beast::get_lowest_layer(self->stream_).close(ignored);
      } else if (self->deadline_ != std::chrono::steady_clock::time_point::max()) {
        self->arm_timer();
      }
    });
  }

  Stream stream_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point armed_for_;
  bool timer_armed_ = false;
  bool timed_out_ = false;
  bool handshaking_ = false;  // HTTPS: the TLS handshake has not finished yet
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_{std::size_t{64} * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
};

}  // namespace

void HttpServer::Impl::accept() {
  asio::io_context& target = *iocs[next_ioc++ % iocs.size()];
  acceptor.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopped.load()) return;
      accept();  // e.g. EMFILE: keep serving the connections we have
      return;
    }
    if (counters.connections_open.load(std::memory_order_relaxed) >= options.max_connections) {
      bump(counters.connections_rejected);
      beast::error_code ignored;
      (void)socket.close(ignored);
    } else {
      bump(counters.connections_accepted);
      counters.connections_open.fetch_add(1, std::memory_order_relaxed);
      (void)socket.set_option(tcp::no_delay(true), ec);
      if (tls) {
        std::make_shared<Session<TlsStream>>(std::move(socket), *this)->start();
      } else {
        std::make_shared<Session<tcp::socket>>(std::move(socket), *this)->start();
      }
    }
    accept();
  });
}

core::Result<std::unique_ptr<HttpServer>> HttpServer::start(Router router, ServerOptions options) {
  if (options.threads == 0) options.threads = 1;
  auto impl = std::make_unique<Impl>(std::move(router), std::move(options));
  const auto& o = impl->options;
  beast::error_code ec;
  const auto address = asio::ip::make_address(o.bind, ec);
  if (ec) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      fmt::format("http: bad bind address '{}': {}", o.bind, ec.message()));
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return core::fail(core::ErrorCode::kInvalidArgument,
                      "http: TLS needs both a certificate and its key");
  }
  if (!o.tls_cert_file.empty()) {
    auto& ctx = impl->tls.emplace(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    if (ctx.use_certificate_chain_file(o.tls_cert_file, ec); ec) {
      return core::fail(
          core::ErrorCode::kInvalidArgument,
          fmt::format("http: cannot load the certificate '{}': {}", o.tls_cert_file, ec.message()));
    }
    // A key of another type than the certificate's loads without a word from OpenSSL, and
    // every handshake would then fail: checked here, a start-up error naming the file.
    if (ctx.use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
        ec || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        fmt::format("http: cannot load the key '{}': {}", o.tls_key_file,
                                    ec ? ec.message() : "it is not the certificate's key"));
    }
  }
  const tcp::endpoint endpoint(address, o.port);
  auto& a = impl->acceptor;
  if (a.open(endpoint.protocol(), ec); !ec)
    (void)a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) (void)a.bind(endpoint, ec);
  if (!ec) (void)a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::fail(core::ErrorCode::kIo, fmt::format("http: cannot listen on {}:{}: {}", o.bind,
                                                        o.port, ec.message()));
  }
  impl->port = a.local_endpoint().port();
  if (impl->router.has_blocking_routes()) {
    impl->blocking_pool =
        std::make_unique<asio::thread_pool>(std::max<std::size_t>(1, o.blocking_threads));
  }
  impl->accept();
  for (std::size_t i = 0; i < o.threads; ++i) {
    impl->threads.emplace_back([ctx = impl->iocs[i].get()] {
      auto guard = asio::make_work_guard(*ctx);  // idle contexts wait for connections
      ctx->run();
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() noexcept {
  if (impl_->stopped.exchange(true)) return;
  try {
    asio::post(impl_->ioc, [p = impl_.get()] {
      beast::error_code ignored;
      (void)p->acceptor.close(ignored);
    });
    if (impl_->blocking_pool) {
      impl_->blocking_pool->stop();  // queued work is dropped; running fetches end by deadline
      impl_->blocking_pool->join();
    }
    for (auto& c : impl_->iocs) c->stop();
    for (auto& t : impl_->threads) {
      if (t.joinable()) t.join();
    }
  } catch (const std::exception& e) {  // shutting down: report, do not throw from a destructor
    fmt::print(stderr, "http: error while stopping: {}\n", e.what());
  }
}

std::uint16_t HttpServer::port() const noexcept { return impl_->port; }

HttpMetrics HttpServer::metrics() const noexcept {
  const auto& c = impl_->counters;
  auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return HttpMetrics{
      .connections_accepted = ld(c.connections_accepted),
      .connections_open = ld(c.connections_open),
      .connections_rejected = ld(c.connections_rejected),
      .requests = ld(c.requests),
      .responses_2xx = ld(c.responses_2xx),
      .responses_4xx = ld(c.responses_4xx),
      .responses_5xx = ld(c.responses_5xx),
      .malformed = ld(c.malformed),
      .header_too_large = ld(c.header_too_large),
      .body_too_large = ld(c.body_too_large),
      .timeouts = ld(c.timeouts),
      .unauthorized = ld(c.unauthorized),
      .tls_handshake_failed = ld(c.tls_handshake_failed),
      .not_found = ld(c.not_found),
      .handler_errors = ld(c.handler_errors),
  };
}

std::string HttpMetrics::to_prometheus(std::string_view engine) const {
  PrometheusText p;
  const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
    p.family(name, "counter", help);
    p.sample(name, {{"engine", engine}}, static_cast<double>(v));
  };
  counter("nautilus_http_connections_accepted_total", "TCP connections accepted",
          connections_accepted);
  counter("nautilus_http_connections_rejected_total", "connections refused over the limit",
          connections_rejected);
  p.family("nautilus_http_connections_open", "gauge", "connections open now");
  p.sample("nautilus_http_connections_open", {{"engine", engine}},
           static_cast<double>(connections_open));
  counter("nautilus_http_requests_total", "requests parsed and routed", requests);
  p.family("nautilus_http_responses_total", "counter", "responses by status class");
  p.sample("nautilus_http_responses_total", {{"engine", engine}, {"class", "2xx"}},
           static_cast<double>(responses_2xx));
  p.sample("nautilus_http_responses_total", {{"engine", engine}, {"class", "4xx"}},
           static_cast<double>(responses_4xx));
  p.sample("nautilus_http_responses_total", {{"engine", engine}, {"class", "5xx"}},
           static_cast<double>(responses_5xx));
  p.family("nautilus_http_rejected_total", "counter", "requests refused, by reason");
  const std::pair<std::string_view, std::uint64_t> reasons[] = {
      {"malformed", malformed},           {"header_too_large", header_too_large},
      {"body_too_large", body_too_large}, {"timeout", timeouts},
      {"unauthorized", unauthorized},     {"tls_handshake", tls_handshake_failed},
      {"not_found", not_found},           {"handler_error", handler_errors}};
  for (const auto& [reason, v] : reasons) {
    p.sample("nautilus_http_rejected_total", {{"engine", engine}, {"reason", reason}},
             static_cast<double>(v));
  }
  return p.str();
}

}  // namespace nautilus::net
