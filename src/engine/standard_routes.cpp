#include "standard_routes.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>

#include "nautilus/bus_redis/transport.hpp"
#include "nautilus/core/hardware.hpp"
#include "nautilus/net/prometheus.hpp"

#ifndef NAUTILUS_VERSION
#define NAUTILUS_VERSION "0.0.0"
#endif

namespace nautilus::engine::detail {
namespace json = boost::json;
namespace {

double uptime_s(const StandardRouteContext& c) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
}

bool bus_connected(const StandardRouteContext& c) {
  if (c.transport == nullptr) return true;
  for (const auto& l : c.transport->status().links) {
    if (!l.writer_connected || !l.reader_connected) return false;
  }
  return true;
}

net::Response json_response(const json::value& v, int status = 200) {
  return net::Response::json(v, status);
}

net::Response health(const StandardRouteContext& c) {
  const Health h = c.engine->health();
  const bool connected = bus_connected(c);
  const bool healthy = h.healthy && connected;
  // uptime in milliseconds' resolution, as a number people read (12.345, not 1.2345E1)
  const double uptime = std::round(uptime_s(c) * 1000.0) / 1000.0;
  json::object o{
      {"status", healthy ? "healthy" : "degraded"},
      {"engine", c.engine->info().name},
      {"version", NAUTILUS_VERSION},
      {"uptime_s", uptime},
      {"messagebus", json::object{{"backend", c.transport ? "redis_streams" : "inprocess"},
                                  {"connected", connected}}}};
  std::string detail = h.detail;
  if (!connected) detail = "a Redis bus is disconnected (messages are buffered)";
  if (!detail.empty()) o["detail"] = detail;
  c.engine->add_health_fields(o);
  // 503 lets Docker/Kubernetes health checks see a degraded engine without parsing JSON.
  return json_response(o, healthy ? 200 : 503);
}

// A shard's figures added to its master's entry in `nodes` ({endpoint, shards, connected,
// exported, imported, group_lag}), the entry made on first sight.
void add_to_node(json::array& nodes, const bus_redis::LinkStatus& l) {
  json::object* node = nullptr;
  for (auto& n : nodes) {
    if (n.as_object().at("endpoint").as_string() == l.endpoint) node = &n.as_object();
  }
  if (node == nullptr) {
    node = &nodes
                .emplace_back(json::object{{"endpoint", l.endpoint},
                                           {"shards", json::array{}},
                                           {"connected", true},
                                           {"exported", 0},
                                           {"imported", 0},
                                           {"group_lag", 0}})
                .as_object();
  }
  (*node)["shards"].as_array().push_back(json::string(l.name));
  (*node)["connected"] = (*node)["connected"].as_bool() && l.writer_connected && l.reader_connected;
  for (auto [key, v] : {std::pair{"exported", l.exported}, std::pair{"imported", l.imported},
                        std::pair{"group_lag", l.group_lag}}) {
    (*node)[key] = (*node)[key].to_number<std::uint64_t>() + v;
  }
}

net::Response messagebus_status(const StandardRouteContext& c) {
  const auto m = c.bus->metrics();
  json::object o{{"engine", c.engine->info().name},
                 {"backend", c.transport ? "redis_streams" : "inprocess"},
                 {"enabled", true},
                 {"published", m.total_published()},
                 {"delivered", m.total_delivered()},
                 {"dropped", m.total_dropped()},
                 {"critical_dropped", m.critical_dropped},
                 {"handler_errors", m.handler_errors},
                 {"topics", m.topics},
                 {"subscriptions", m.subscriptions},
                 {"latency_p50_ns", std::llround(m.latency.percentile(0.50))},
                 {"latency_p99_ns", std::llround(m.latency.percentile(0.99))}};
  o["mailbox"] = json::object{{"name", c.mailbox->name()}, {"depth", c.mailbox->depth()}};
  json::array buses;
  json::array nodes;  // on a cluster: the shards by the master that holds them
  std::uint64_t lag = 0;
  std::uint64_t pending = 0;
  std::uint64_t errors = m.handler_errors + m.critical_dropped;
  bool connected = true;
  if (c.transport == nullptr) {
    buses.push_back(json::object{{"name", "inprocess"}, {"connected", true}});
  } else {
    const auto s = c.transport->status();
    for (const auto& l : s.links) {
      std::uint64_t overflow = 0;
      for (auto d : l.overflow_dropped) overflow += d;
      buses.push_back(json::object{{"name", l.name},
                                   {"endpoint", l.endpoint},
                                   {"stream", l.stream},
                                   {"durability", l.durability},
                                   {"replica_timeouts", l.replica_timeouts},
                                   {"connected", l.writer_connected && l.reader_connected},
                                   {"writer_connected", l.writer_connected},
                                   {"reader_connected", l.reader_connected},
                                   {"exported", l.exported},
                                   {"imported", l.imported},
                                   {"backlog_messages", l.backlog_messages},
                                   {"group_pending", l.group_pending},
                                   {"group_lag", l.group_lag},
                                   {"dead_lettered", l.dead_lettered},
                                   {"duplicates", l.duplicates},
                                   {"reconnects", l.reconnects},
                                   {"failed_reads", l.failed_reads},
                                   {"failed_acks", l.failed_acks},
                                   {"overflow_dropped", overflow}});
      if (l.shard >= 0) {
        auto& b = buses.back().as_object();
        b["shard"] = l.shard;
        b["slot"] = l.slot;
        add_to_node(nodes, l);
      }
      lag += l.group_lag;
      pending += l.group_pending;
      errors += l.failed_reads + l.failed_acks + l.dead_lettered + overflow;
      connected = connected && l.writer_connected && l.reader_connected;
    }
    errors += s.unencodable;
  }
  o["connected"] = connected;
  o["buses"] = std::move(buses);
  if (!nodes.empty()) o["nodes"] = std::move(nodes);
  o["lag"] = lag;
  o["pending"] = pending;
  o["errors"] = errors;
  return json_response(o);
}

net::Response subscriptions(const StandardRouteContext& c) {
  const auto& info = c.engine->info();
  json::array subs;
  for (const auto& s : c.bus->subscriptions()) {
    if (s.owner != info.name) continue;
    subs.push_back(json::object{{"id", s.id},
                                {"pattern", s.pattern},
                                {"endpoint", s.endpoint},
                                {"mailbox", s.mailbox},
                                {"policy", to_string(s.policy)}});
  }
  json::array declared_subs;
  for (const auto& p : info.subscribes) declared_subs.push_back(json::string(p));
  json::array publishes;
  for (const auto& p : info.publishes) publishes.push_back(json::string(p));
  return json_response(json::object{{"engine", info.name},
                                    {"subscriptions", std::move(subs)},
                                    {"subscribes", std::move(declared_subs)},
                                    {"publishes", std::move(publishes)}});
}

void transport_metrics(net::PrometheusText& p, const bus_redis::RedisTransport& t) {
  const auto s = t.status();
  struct Field {
    std::string_view name, type, help;
    std::uint64_t bus_redis::LinkStatus::* field;
  };
  static constexpr Field kFields[] = {
      {"nautilus_redis_exported_total", "counter", "messages written to the bus",
       &bus_redis::LinkStatus::exported},
      {"nautilus_redis_imported_total", "counter", "messages read from the bus and delivered",
       &bus_redis::LinkStatus::imported},
      {"nautilus_redis_duplicates_total", "counter", "messages already seen, skipped",
       &bus_redis::LinkStatus::duplicates},
      {"nautilus_redis_dead_lettered_total", "counter", "messages sent to the dead-letter stream",
       &bus_redis::LinkStatus::dead_lettered},
      {"nautilus_redis_reconnects_total", "counter", "reconnections to Redis",
       &bus_redis::LinkStatus::reconnects},
      {"nautilus_redis_failed_reads_total", "counter", "stream reads that failed",
       &bus_redis::LinkStatus::failed_reads},
      {"nautilus_redis_failed_acks_total", "counter", "XACKs the server refused",
       &bus_redis::LinkStatus::failed_acks},
      {"nautilus_redis_replica_timeouts_total", "counter",
       "rounds no replica confirmed within the replication timeout (replicated durability)",
       &bus_redis::LinkStatus::replica_timeouts},
      {"nautilus_redis_backlog_messages", "gauge", "messages waiting to be written",
       &bus_redis::LinkStatus::backlog_messages},
      {"nautilus_redis_group_pending", "gauge", "entries delivered to the group, not acked",
       &bus_redis::LinkStatus::group_pending},
      {"nautilus_redis_group_lag", "gauge", "entries not yet delivered to the group",
       &bus_redis::LinkStatus::group_lag},
  };
  for (const auto& f : kFields) {
    p.family(f.name, f.type, f.help);
    for (const auto& l : s.links)
      p.sample(f.name, {{"bus", l.name}}, static_cast<double>(l.*f.field));
  }
  p.family("nautilus_redis_connected", "gauge",
           "1 when the link's writer and reader are connected");
  for (const auto& l : s.links) {
    p.sample("nautilus_redis_connected", {{"bus", l.name}},
             l.writer_connected && l.reader_connected ? 1.0 : 0.0);
  }
}

net::Response metrics(const StandardRouteContext& c) {
  net::PrometheusText p;
  const auto& name = c.engine->info().name;
  p.family("nautilus_engine_up", "gauge", "1 while the engine is healthy");
  p.sample("nautilus_engine_up", {{"engine", name}}, c.engine->health().healthy ? 1.0 : 0.0);
  p.family("nautilus_engine_uptime_seconds", "gauge", "seconds since the engine started");
  p.sample("nautilus_engine_uptime_seconds", {{"engine", name}}, uptime_s(c));
  p.family("nautilus_engine_mailbox_depth", "gauge", "messages queued for the engine");
  for (std::size_t i = 0; i < bus::kPriorityCount; ++i) {
    const auto prio = static_cast<bus::Priority>(i);
    p.sample("nautilus_engine_mailbox_depth", {{"engine", name}, {"priority", to_string(prio)}},
             static_cast<double>(c.mailbox->depth(prio)));
  }
  p.append(c.bus->metrics().to_prometheus());
  if (const auto* http = c.http->load(std::memory_order_acquire); http != nullptr) {
    p.append(http->metrics().to_prometheus(name));
  }
  if (c.transport != nullptr) transport_metrics(p, *c.transport);
  c.engine->add_metrics(p);
  auto r = net::Response::text(p.str());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

net::Response hardware_status(const StandardRouteContext& c) {
  const auto hw = core::hardware();
  // Heavy work runs on CPU threads unless a CUDA build finds a GPU. This build
  // reports only what it has; there is no GPU code path in it yet.
  const json::value gpu = nullptr;
  const json::object workloads{
      {"monte_carlo_var", json::object{{"device", "cpu"}, {"threads", hw.logical_cores}}},
      {"factor_regression", json::object{{"device", "cpu"}, {"threads", hw.logical_cores}}},
      {"ml_batch", json::object{{"device", "cpu"}, {"threads", hw.logical_cores}}}};
  return json_response(
      json::object{{"cpu", json::object{{"model", hw.cpu_model},
                                        {"logical_cores", hw.logical_cores},
                                        {"online_cores", hw.online_cores},
                                        {"simd", hw.simd}}},
                   {"memory", json::object{{"total_bytes", hw.memory_total_bytes},
                                           {"available_bytes", hw.memory_available_bytes}}},
                   {"gpu", gpu},
                   {"cuda_built", hw.cuda_built},
                   {"auto_hardware_routing", c.auto_hardware_routing},
                   {"workloads", workloads}});
}

// The settings in force, with their types: what the engine is actually running with.
net::Response settings(const StandardRouteContext& c) {
  json::object values;
  for (const auto& [name, v] : c.settings->values()) {
    std::visit(
        [&, &key = name](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            json::array a;
            for (const auto& item : x) a.emplace_back(item);
            values[key] = std::move(a);
          } else {
            values[key] = x;
          }
        },
        v);
  }
  return json_response(json::object{{"engine", c.engine->info().name}, {"settings", values}});
}

}  // namespace

void add_standard_routes(net::Router& router, const StandardRouteContext& ctx) {
  router.get("/settings", [ctx](const net::Request&) { return settings(ctx); });
  router.get("/health", [ctx](const net::Request&) { return health(ctx); });
  router.get("/messagebus/status", [ctx](const net::Request&) { return messagebus_status(ctx); });
  router.get("/messagebus/subscriptions",
             [ctx](const net::Request&) { return subscriptions(ctx); });
  router.get("/metrics", [ctx](const net::Request&) { return metrics(ctx); });
  router.get("/hardware/status", [ctx](const net::Request&) { return hardware_status(ctx); });
}

}  // namespace nautilus::engine::detail
