// The measurement behind the transport's choice of Redis client (docs/ARCHITECTURE.md,
// "Redis client"): hiredis's synchronous API on a dedicated thread, as the transport uses it,
// against hiredis's command formatter and reply reader under a Boost.Asio socket (the other
// common way). Same server, same commands, same pipelining: only the I/O differs.
#include "client_compare.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "nautilus/bus_redis/redis_client.hpp"

namespace nautilus::bench {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Command = std::vector<std::string_view>;

// hiredis's reader and formatter under an Asio socket, driven by async operations on this
// thread's io_context: writes and reads overlap, as an event-loop client would run them.
class AsioRedis {
 public:
  explicit AsioRedis(std::uint16_t port) : socket_(io_), reader_(redisReaderCreate()) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    socket_.set_option(tcp::no_delay(true));
  }
  ~AsioRedis() { redisReaderFree(reader_); }
  AsioRedis(const AsioRedis&) = delete;
  AsioRedis& operator=(const AsioRedis&) = delete;

  // Sends the commands in one write and returns once all their replies are parsed.
  bool round(const std::vector<Command>& commands) {
    wire_.clear();
    for (const auto& c : commands) {
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (auto a : c) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      char* formatted = nullptr;
      const int n = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                           lens.data());
      if (n < 0) return false;
      wire_.append(formatted, static_cast<std::size_t>(n));
      redisFreeCommand(formatted);
    }
    bool ok = true;
    std::size_t got = 0;
    asio::async_write(socket_, asio::buffer(wire_),
                      [&](boost::system::error_code ec, std::size_t) { ok = ok && !ec; });
    std::function<void()> read_more = [&] {
      socket_.async_read_some(asio::buffer(buf_), [&](boost::system::error_code ec, std::size_t n) {
        if (ec) {
          ok = false;
          return;
        }
        redisReaderFeed(reader_, buf_.data(), n);
        void* reply = nullptr;
        while (redisReaderGetReply(reader_, &reply) == REDIS_OK && reply != nullptr) {
          ok = ok && static_cast<redisReply*>(reply)->type != REDIS_REPLY_ERROR;
          freeReplyObject(reply);
          reply = nullptr;
          ++got;
        }
        if (got < commands.size()) read_more();
      });
    };
    read_more();
    io_.restart();
    io_.run();
    return ok && got == commands.size();
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  redisReader* reader_;
  std::string wire_;
  std::array<char, 64 * 1024> buf_{};
};

// `rounds` rounds of `commands`, one round trip each; returns seconds.
template <class RoundFn>
double timed(std::size_t rounds, RoundFn&& round) {
  const auto t0 = SteadyClock::now();
  for (std::size_t i = 0; i < rounds; ++i) {
    if (!round()) return 0;
  }
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::vector<Command> xadds(const std::string& payload, std::size_t n) {
  return std::vector<Command>(n,
                              Command{"XADD", "cmp", "MAXLEN", "~", "100000", "*", "d", payload});
}

}  // namespace

ClientComparison compare_redis_clients(std::uint16_t port, bool quick) {
  ClientComparison out;
  auto sync = bus_redis::RedisClient::connect({.port = port}, std::chrono::seconds(2));
  if (!sync) return out;
  AsioRedis async(port);
  const std::size_t scale = quick ? 10 : 1;
  // The transport's two shapes of a write round: 3000 one-message entries, or 12 packed
  // entries of about 40 KB (256 messages each).
  const auto single = xadds(std::string(160, 'x'), 3000);
  const auto packed = xadds(std::string(40 * 1024, 'x'), 12);
  const std::size_t rounds = 100 / scale;
  auto sync_round = [&](const std::vector<Command>& c) {
    return [&] { return sync->pipeline_views(c).has_value(); };
  };
  auto async_round = [&](const std::vector<Command>& c) { return [&] { return async.round(c); }; };
  // Alternate, so drift in the machine's speed hits both alike.
  double sync_single = 0, async_single = 0, sync_packed = 0, async_packed = 0;
  for (int rep = 0; rep < 2; ++rep) {
    sync_single += timed(rounds, sync_round(single));
    async_single += timed(rounds, async_round(single));
    sync_packed += timed(rounds, sync_round(packed));
    async_packed += timed(rounds, async_round(packed));
  }
  const double single_entries = 2.0 * static_cast<double>(rounds * single.size());
  const double packed_mb = 2.0 * static_cast<double>(rounds * packed.size()) * 40.0 / 1024.0;
  out.sync_single_entries_per_s = sync_single > 0 ? single_entries / sync_single : 0;
  out.asio_single_entries_per_s = async_single > 0 ? single_entries / async_single : 0;
  out.sync_packed_mb_per_s = sync_packed > 0 ? packed_mb / sync_packed : 0;
  out.asio_packed_mb_per_s = async_packed > 0 ? packed_mb / async_packed : 0;
  // One command at a time: the round trip a lone urgent message pays.
  const std::vector<Command> ping{{"PING"}};
  const std::size_t pings = 5000 / scale;
  const double sync_rtt = timed(pings, sync_round(ping));
  const double async_rtt = timed(pings, async_round(ping));
  out.sync_rtt_us = sync_rtt * 1e6 / static_cast<double>(pings);
  out.asio_rtt_us = async_rtt * 1e6 / static_cast<double>(pings);
  return out;
}

}  // namespace nautilus::bench
