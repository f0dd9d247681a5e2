#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "nautilus/bus/codec.hpp"
#include "nautilus/bus/topic.hpp"
#include "nautilus/bus_redis/cluster.hpp"
#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/bus_redis/sharding.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/config/bus_config.hpp"
#include "nautilus/core/process.hpp"

namespace nautilus::app {
namespace {

using bus_redis::RedisClient;

// "<ms>-<seq>", "<ms>", "-", "+" as given; an ISO-8601 UTC time (2026-11-24T00:00:00Z, optional
// .fff) becomes "<ms>". Empty on a malformed value.
std::string to_stream_id(const std::string& s) {
  if (s == "-" || s == "+") return s;
  if (s.find('T') == std::string::npos) {
    const auto dash = s.find('-');
    auto digits = [](std::string_view v) {
      return !v.empty() &&
             std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (dash == std::string::npos ? digits(s)
                                  : digits(std::string_view(s).substr(0, dash)) &&
                                        digits(std::string_view(s).substr(dash + 1))) {
      return s;
    }
    return {};
  }
  std::tm tm{};
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return {};
  long ms = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (*rest == 'Z') ++rest;
  if (*rest != '\0') return {};
  return std::to_string(static_cast<long long>(::timegm(&tm)) * 1000 + ms);
}

// Orders "<ms>-<seq>" ids numerically.
std::pair<std::uint64_t, std::uint64_t> id_key(const std::string& id) {
  std::uint64_t ms = 0, seq = 0;
  const auto dash = id.find('-');
  std::from_chars(id.data(), id.data() + (dash == std::string::npos ? id.size() : dash), ms);
  if (dash != std::string::npos) std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  return {ms, seq};
}

}  // namespace

int run_replay(const ReplayOptions& o) {
  auto cfg = load_config(o.config_path, "replay");
  if (!cfg) return 2;
  const std::string from = to_stream_id(o.from);
  const std::string to = to_stream_id(o.to);
  if (from.empty() || to.empty()) {
    fmt::print(stderr,
               "nautilus replay: --from/--to take a stream id (1700000000000-0), '-', '+' "
               "or an ISO time (2026-11-24T09:30:00Z)\n");
    return 2;
  }
  auto pattern = bus::normalize_pattern(o.topic);
  if (!pattern) {
    fmt::print(stderr, "nautilus replay: --topic: {}\n", pattern.error().message);
    return 2;
  }
  const bool md = o.bus == "marketdata";
  const auto& endpoint = md ? cfg->marketdata : cfg->logic;
  const std::string stream = md ? cfg->marketdata_stream : cfg->logic_stream;
  // Where each stream of the bus lives: the bus's server, or on a cluster each shard's
  // streams on the master of their slot (the urgent stream is shard 0's).
  std::optional<RedisClient> server;
  std::optional<bus_redis::ClusterClient> cluster;
  std::optional<bus_redis::ShardLayout> layout;
  std::vector<std::pair<std::string, RedisClient*>> sources;
  if (endpoint.is_cluster()) {
    const auto key = md ? bus_redis::ShardKey::kSymbol : bus_redis::ShardKey::kFamily;
    layout.emplace(stream, bus_redis::shard_count(endpoint.shards, key), key);
    // A range can be the whole of a busy stream: the reads get 30 s, connecting 2 s a node.
    auto c = bus_redis::ClusterClient::connect(bus_redis::seed_endpoints(endpoint),
                                               {.timeout = std::chrono::seconds(30),
                                                .connect_timeout = std::chrono::seconds(2),
                                                .username = endpoint.username,
                                                .password = endpoint.password,
                                                .tls = endpoint.tls});
    if (!c) {
      fmt::print(stderr, "nautilus replay: {}\n", c.error().message);
      return 1;
    }
    cluster.emplace(std::move(*c));
    for (std::size_t k = 0; k < layout->shards(); ++k) {
      RedisClient* node = cluster->node(cluster->master_of(layout->slot(k)));
      if (node == nullptr) {
        fmt::print(stderr, "nautilus replay: the master of {} (slot {}) does not answer\n",
                   layout->stream(k), layout->slot(k));
        return 1;
      }
      sources.emplace_back(layout->stream(k), node);
      if (k == 0) sources.emplace_back(layout->stream(k) + ":urgent", node);
    }
  } else {
    auto client = RedisClient::connect(endpoint, std::chrono::seconds(2));
    if (!client) {
      fmt::print(stderr, "nautilus replay: {}\n", client.error().message);
      return 1;
    }
    // A range can be the whole of a busy stream, read while the platform writes to it: give
    // the reads time (the connect above stays quick to fail on a wrong address).
    if (auto ok = client->set_timeout(std::chrono::seconds(30)); !ok) {
      fmt::print(stderr, "nautilus replay: {}\n", ok.error().message);
      return 1;
    }
    server.emplace(std::move(*client));
    sources = {{stream, &*server}, {stream + ":urgent", &*server}};
  }
  // Every stream of the bus, merged in id order. (On a cluster the ids come from each master's
  // clock: across shards the order is as good as the masters' clocks agree.)
  std::vector<bus_redis::StreamEntry> entries;
  for (const auto& [s, node] : sources) {
    auto got = bus_redis::read_range(*node, s, from, to);
    if (!got) {
      fmt::print(stderr, "nautilus replay: {}\n", got.error().message);
      return 1;
    }
    entries.insert(entries.end(), std::make_move_iterator(got->begin()),
                   std::make_move_iterator(got->end()));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return id_key(a.id) < id_key(b.id); });
  std::size_t printed = 0, undecodable = 0;
  std::string first_undecodable;  // the first one's entry and reason, for the closing line
  const auto skip = [&](const bus_redis::StreamEntry& entry, const core::Error& e) {
    if (undecodable++ == 0)
      first_undecodable = fmt::format("{} {}: {}", entry.stream, entry.id, e.message);
  };
  std::vector<std::string> republish_bytes;
  std::vector<std::size_t> republish_shard;  // on a cluster, the shard each message goes to
  republish_bytes.reserve(entries.size() * 8);
  for (const auto& entry : entries) {
    std::vector<core::Result<bus::Envelope>> envs;
    if (entry.batch) {
      auto b = bus::codec::decode_batch(entry.data);
      if (!b) {
        skip(entry, b.error());
        continue;
      }
      envs = std::move(*b);
    } else {
      envs.push_back(bus::codec::decode(entry.data));
    }
    for (auto& env : envs) {
      if (!env) {
        skip(entry, env.error());
        continue;
      }
      if (!bus::is_matching(env->topic.value(), *pattern)) continue;
      if (o.republish) {
        republish_bytes.emplace_back();
        (void)bus::codec::encode(*env, republish_bytes.back());
        republish_shard.push_back(layout ? layout->shard_of(env->topic.value()) : 0);
        continue;
      }
      auto json = bus::codec::to_json(*env);
      if (!json) {
        skip(entry, json.error());
        continue;
      }
      fmt::print("{{\"stream\":\"{}\",\"id\":\"{}\",\"envelope\":{}}}\n", entry.stream, entry.id,
                 *json);
      ++printed;
      if (o.limit > 0 && printed >= o.limit) break;
    }
    if (o.limit > 0 && printed >= o.limit) break;
  }
  if (o.republish) {
    // A writer of its own: consumers de-duplicate per writer, so the messages reach them again
    // even if they saw the originals (or an earlier republish) moments ago.
    const std::string origin =
        fmt::format("replay-{}-{}", core::host_and_pid(),
                    std::chrono::system_clock::now().time_since_epoch().count());
    // By shard (one group on one server), each shard's messages in replay order.
    const std::size_t shards = layout ? layout->shards() : 1;
    for (std::size_t k = 0; k < shards; ++k) {
      std::vector<bus_redis::EntryData> mine;
      for (std::size_t i = 0; i < republish_bytes.size(); ++i) {
        if (republish_shard[i] == k) mine.push_back({bus_redis::kDataField, republish_bytes[i]});
      }
      if (mine.empty()) continue;
      RedisClient* node = layout ? cluster->node(cluster->master_of(layout->slot(k))) : &*server;
      const std::string target = layout ? layout->stream(k) : stream;
      if (node == nullptr) {
        fmt::print(stderr, "nautilus replay: republish: the master of {} does not answer\n",
                   target);
        return 1;
      }
      bus_redis::StreamWriter writer(*node, target, {});
      for (std::size_t i = 0; i < mine.size(); i += 1000) {
        std::vector<bus_redis::EntryData> chunk(
            mine.begin() + static_cast<std::ptrdiff_t>(i),
            mine.begin() + static_cast<std::ptrdiff_t>(std::min(mine.size(), i + 1000)));
        if (auto ok = writer.append(chunk, origin); !ok) {
          fmt::print(stderr, "nautilus replay: republish: {}\n", ok.error().message);
          return 1;
        }
      }
    }
    fmt::print(stderr, "nautilus replay: republished {} message(s) to {}{}\n",
               republish_bytes.size(), stream,
               layout ? fmt::format(" ({} shards)", layout->shards()) : std::string());
  }
  std::fflush(stdout);  // the JSON lines before the closing line, where both share a pipe
  if (undecodable > 0) {
    fmt::print(stderr, "nautilus replay: {} undecodable message(s) skipped; the first: {}\n",
               undecodable, first_undecodable);
  }
  return 0;
}

}  // namespace nautilus::app
