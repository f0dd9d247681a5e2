// RedisTransport (transport.hpp): starting, stopping and reporting on the transport. The work
// is done by a PathWriter per outbound path (writer.hpp) and a StreamReader per bus and
// inbound path (reader.hpp), which share the links (link.hpp) and one Dedup (dedup.hpp).
#include "nautilus/bus_redis/transport.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "link.hpp"
#include "reader.hpp"
#include "writer.hpp"

namespace nautilus::bus_redis {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;
using detail::kNormalPath;
using detail::kUrgentPath;
using detail::Link;
using detail::Path;
using detail::PathWriter;

// Unique per transport, not just per process: the consumer name is also the origin id a
// transport uses to skip its own entries, and two transports in one process (tests, bench)
// must not take each other's messages for their own.
std::string default_consumer() {
  static std::atomic<unsigned> counter{0};
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}-{}", host, ::getpid(), counter.fetch_add(1));
}

}  // namespace

struct RedisTransport::Impl {
  bus::MessageBus& bus;
  TransportOptions options;
  std::string instance;  // this transport: written as each entry's origin
  // [0] marketdata, [1] logic; while migrating from single-Redis also [2] and [3], the same
  // streams on the legacy server, written and read alongside.
  std::vector<std::unique_ptr<Link>> links;
  detail::SharedDedup dedup;
  std::array<std::unique_ptr<PathWriter>, 2> writers;  // by Path

  Impl(bus::MessageBus& b, TransportOptions o)
      : bus(b), options(std::move(o)), dedup(options.dedup_window) {}
};

RedisTransport::RedisTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<RedisTransport>> RedisTransport::start(bus::MessageBus& bus,
                                                              TransportOptions options) {
  if (options.consumer.empty()) options.consumer = default_consumer();
  if (options.group.empty()) return fail(ErrorCode::kInvalidArgument, "transport: empty group");
  auto impl = std::make_unique<Impl>(bus, std::move(options));
  Impl& i = *impl;
  i.instance = i.options.consumer;
  const auto& cfg = i.options.config;
  if (i.options.failover_buffer_bytes == 0) {
    i.options.failover_buffer_bytes = i.options.config.failover_buffer_bytes;
  }
  i.links.push_back(std::make_unique<Link>("marketdata", cfg.marketdata, cfg.marketdata_stream));
  i.links.push_back(std::make_unique<Link>("logic", cfg.logic, cfg.logic_stream));
  if (cfg.legacy) {
    i.links.push_back(
        std::make_unique<Link>("legacy.marketdata", *cfg.legacy, cfg.marketdata_stream));
    i.links.push_back(std::make_unique<Link>("legacy.logic", *cfg.legacy, cfg.logic_stream));
  }
  for (Path path : {kNormalPath, kUrgentPath}) {
    auto& w = i.writers[path];
    w = std::make_unique<PathWriter>(bus, i.options, i.instance, i.links, path);
    if (auto ok = w->start(); !ok) return std::unexpected(ok.error());
  }
  const detail::ReaderContext ctx{
      .bus = bus,
      .options = i.options,
      .instance = i.instance,
      .dedup = i.dedup,
      .outboxes = {i.writers[kNormalPath]->outbox(), i.writers[kUrgentPath]->outbox()}};
  for (auto& l : i.links) {
    Link* link = l.get();
    for (Path path : {kNormalPath, kUrgentPath}) {
      link->readers[path] = std::jthread([ctx, link, path](const std::stop_token& st) {
        detail::StreamReader(ctx, *link, path).run(st);
      });
    }
  }
  return std::unique_ptr<RedisTransport>(new RedisTransport(std::move(impl)));
}

RedisTransport::~RedisTransport() {
  // Every path stops taking messages before any is waited for, so both drain at once.
  for (auto& w : impl_->writers) w->request_stop();
  for (auto& w : impl_->writers) w->join();
  for (auto& l : impl_->links) {
    for (auto& r : l->readers) r.request_stop();
    for (auto& r : l->readers) {
      if (r.joinable()) r.join();
    }
  }
}

bool RedisTransport::flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool done = true;
    for (const auto& w : impl_->writers) done = done && w->settled();
    if (done) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TransportStatus RedisTransport::status() const {
  TransportStatus s;
  for (const auto& w : impl_->writers) s.unencodable += w->unencodable();
  for (const auto& l : impl_->links) {
    LinkStatus ls;
    ls.name = l->name;
    ls.endpoint = fmt::format("{}:{}", l->endpoint.host, l->endpoint.port);
    ls.stream = l->stream;
    ls.durability =
        l->endpoint.durability == config::Durability::kReplicated ? "replicated" : "local";
    ls.writer_connected = l->writer_connected[kNormalPath].load();
    ls.reader_connected =
        l->reader_connected[kNormalPath].load() && l->reader_connected[kUrgentPath].load();
    ls.degraded_since = l->degraded_since.load();
    for (Path path : {kNormalPath, kUrgentPath}) {
      ls.backlog_messages += l->backlog_messages[path].load();
      ls.backlog_bytes += l->backlog_bytes[path].load();
    }
    ls.exported = l->exported.load();
    ls.imported = l->imported.load();
    ls.duplicates = l->duplicates.load();
    ls.skipped_own = l->skipped_own.load();
    ls.dead_lettered = l->dead_lettered.load();
    ls.reconnects = l->reconnects.load();
    ls.failed_reads = l->failed_reads.load();
    ls.failed_acks = l->failed_acks.load();
    ls.group_recreations = l->group_recreations.load();
    ls.claimed = l->claimed.load();
    ls.replica_timeouts = l->replica_timeouts.load();
    ls.group_pending = l->group_pending.load();
    ls.group_lag = l->group_lag.load();
    for (std::size_t p = 0; p < bus::kPriorityCount; ++p) {
      ls.overflow_dropped[p] = l->overflow_dropped[p].load();
    }
    s.links.push_back(std::move(ls));
  }
  return s;
}

}  // namespace nautilus::bus_redis
