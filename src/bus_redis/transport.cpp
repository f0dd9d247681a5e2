// RedisTransport (transport.hpp): starting, stopping and reporting on the transport. The work
// is done by a PathWriter per outbound path (writer.hpp) and a StreamReader per bus and
// inbound path (reader.hpp), which share the links (link.hpp) and one Dedup (dedup.hpp).
#include "nautilus/bus_redis/transport.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "link.hpp"
#include "nautilus/core/process.hpp"
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
using detail::Routes;

// Unique per transport, not just per process: the consumer name is also the origin id a
// transport uses to skip its own entries, and two transports in one process (tests, bench)
// must not take each other's messages for their own.
std::string default_consumer() {
  static std::atomic<unsigned> counter{0};
  return fmt::format("{}-{}", core::host_and_pid(), counter.fetch_add(1));
}

}  // namespace

struct RedisTransport::Impl {
  bus::MessageBus& bus;
  TransportOptions options;
  std::string instance;  // this transport: written as each entry's origin
  // The MarketData bus (one link, or one per shard on a cluster), the Engine Logic bus (the
  // same); while migrating from single-Redis also the same two streams on the legacy server,
  // written and read alongside. `routes` says which link a topic goes to.
  std::vector<std::unique_ptr<Link>> links;
  Routes routes;
  detail::SharedDedup dedup;
  std::array<std::unique_ptr<PathWriter>, 2> writers;  // by Path

  Impl(bus::MessageBus& b, TransportOptions o)
      : bus(b), options(std::move(o)), dedup(options.dedup_window) {}
};

RedisTransport::RedisTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

// One bus's links: one for a server; for a cluster, one per shard, sharing the bus's router.
void add_bus(RedisTransport::Impl& i, const std::string& name, const config::RedisEndpoint& ep,
             const std::string& stream, ShardKey key, std::optional<ShardLayout>& layout) {
  if (!ep.is_cluster()) {
    i.links.push_back(std::make_unique<Link>(name, ep, stream));
    return;
  }
  const auto& layout_v = layout.emplace(stream, shard_count(ep.shards, key), key);
  auto router = std::make_shared<detail::ClusterRouter>(ep, i.options.connect_timeout);
  for (std::size_t k = 0; k < layout_v.shards(); ++k) {
    auto& l = i.links.emplace_back(
        std::make_unique<Link>(fmt::format("{}.{}", name, k), ep, layout_v.stream(k)));
    l->shard = static_cast<int>(k);
    l->slot = layout_v.slot(k);
    l->router = router;
    l->carries_urgent = k == 0;
  }
}

}  // namespace

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
  add_bus(i, "marketdata", cfg.marketdata, cfg.marketdata_stream, ShardKey::kSymbol,
          i.routes.marketdata);
  add_bus(i, "logic", cfg.logic, cfg.logic_stream, ShardKey::kFamily, i.routes.logic);
  if (cfg.legacy) {
    i.routes.legacy = true;
    i.links.push_back(
        std::make_unique<Link>("legacy.marketdata", *cfg.legacy, cfg.marketdata_stream));
    i.links.push_back(std::make_unique<Link>("legacy.logic", *cfg.legacy, cfg.logic_stream));
  }
  for (Path path : {kNormalPath, kUrgentPath}) {
    auto& w = i.writers[path];
    w = std::make_unique<PathWriter>(bus, i.options, i.instance, i.links, i.routes, path);
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
      if (!link->has_path(path)) continue;
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
    ls.endpoint = l->where();
    ls.stream = l->stream;
    ls.shard = l->shard;
    ls.slot = l->slot;
    ls.durability =
        l->endpoint.durability == config::Durability::kReplicated ? "replicated" : "local";
    ls.writer_connected = l->writer_connected[kNormalPath].load();
    ls.reader_connected = l->reader_connected[kNormalPath].load() &&
                          (!l->carries_urgent || l->reader_connected[kUrgentPath].load());
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
