// ClusterClient (cluster.hpp): the slot map, routing by CRC16, MOVED and ASK, and waiting out a
// failover. Redis Cluster specification: https://redis.io/docs/reference/cluster-spec/.
#include "nautilus/bus_redis/cluster.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <thread>

namespace nautilus::bus_redis {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxRedirects = 16;
constexpr std::uint16_t kNoOwner = 0xFFFF;

// The bitwise CRC16/XMODEM, a table built once: 256 entries of the polynomial 0x1021.
constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    t[i] = crc;
  }
  return t;
}
constexpr auto kTable = make_table();

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> the node.
std::optional<ClusterNode> redirect_target(const std::string& error) {
  const auto space = error.rfind(' ');
  if (space == std::string::npos) return std::nullopt;
  const std::string addr = error.substr(space + 1);
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  ClusterNode n;
  n.host = addr.substr(0, colon);
  const auto* end = addr.data() + addr.size();
  const auto [p, ec] = std::from_chars(addr.data() + colon + 1, end, n.port);
  if (ec != std::errc() || p != end) return std::nullopt;
  return n;
}

core::Error cluster_error(core::ErrorCode code, std::string message) {
  return {code, "redis cluster: " + std::move(message)};
}

}  // namespace

std::vector<config::RedisEndpoint> seed_endpoints(const config::RedisEndpoint& ep) {
  std::vector<config::RedisEndpoint> seeds;
  for (const auto& s : ep.cluster) {
    config::RedisEndpoint e = ep;
    e.host = s.host;
    e.port = s.port;
    e.cluster.clear();
    seeds.push_back(std::move(e));
  }
  return seeds;
}

std::uint16_t crc16(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    crc = static_cast<std::uint16_t>((crc << 8) ^
                                     kTable[((crc >> 8) ^ static_cast<std::uint8_t>(c)) & 0xFF]);
  }
  return crc;
}

std::uint16_t key_slot(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16(key) % kClusterSlots);
}

struct ClusterClient::Impl {
  std::vector<config::RedisEndpoint> seeds;
  ClusterOptions options;
  std::vector<SlotRange> ranges;
  std::array<std::uint16_t, kClusterSlots> owner{};           // index into ranges, kNoOwner
  std::map<std::string, std::unique_ptr<RedisClient>> conns;  // by host:port
  // Nodes whose connection just failed, until when: asked last, so a dead master (whose
  // connect may take the whole timeout on a real network) does not slow every map read.
  std::map<std::string, Clock::time_point> down_until;
  ClusterStats stats;

  config::RedisEndpoint endpoint(const ClusterNode& n) const {
    return {.host = n.host,
            .port = n.port,
            .db = 0,
            .username = options.username,
            .password = options.password,
            .tls = options.tls};
  }

  RedisClient* connection(const ClusterNode& n) {
    auto& c = conns[n.name()];
    if (c && c->healthy()) return c.get();
    if (c) ++stats.reconnects;
    c.reset();
    const auto connect_timeout =
        options.connect_timeout.count() > 0 ? options.connect_timeout : options.timeout;
    auto made = RedisClient::connect(endpoint(n), connect_timeout);
    if (made && connect_timeout != options.timeout) {
      if (auto ok = made->set_timeout(options.timeout); !ok) made = std::unexpected(ok.error());
    }
    if (!made) {
      down_until[n.name()] = Clock::now() + std::chrono::seconds(2);
      return nullptr;
    }
    down_until.erase(n.name());
    c = std::make_unique<RedisClient>(std::move(*made));
    return c.get();
  }

  // CLUSTER SLOTS: [[first, last, [host, port, id, ...], [replica...]...], ...]
  core::Result<void> read_map(RedisClient& c, const std::string& fallback_host) {
    auto r = c.command({"CLUSTER", "SLOTS"});
    if (!r) return std::unexpected(r.error());
    if (r->is_error()) {
      // Only "cluster support disabled" means the address is wrong; anything else (LOADING
      // after a restart, a node not yet joined) is this node's, and the next is asked.
      const bool not_cluster = r->str.find("cluster support disabled") != std::string::npos;
      return std::unexpected(cluster_error(
          not_cluster ? core::ErrorCode::kInvalidArgument : core::ErrorCode::kIo,
          fmt::format("{}: CLUSTER SLOTS: {}",
                      c.endpoint().host + ":" + std::to_string(c.endpoint().port), r->str)));
    }
    std::vector<SlotRange> next;
    const auto node_of = [&](const RedisReply& e) -> std::optional<ClusterNode> {
      if (e.elements.size() < 2 || e.elements[1].type != RedisReply::Type::kInteger) {
        return std::nullopt;
      }
      ClusterNode n;
      n.host =
          e.elements[0].str.empty() || e.elements[0].str == "?" ? fallback_host : e.elements[0].str;
      n.port = static_cast<std::uint16_t>(e.elements[1].integer);
      if (e.elements.size() > 2) n.id = e.elements[2].str;
      return n;
    };
    for (const auto& range : r->elements) {
      if (range.elements.size() < 3) continue;
      const auto master = node_of(range.elements[2]);
      if (!master) continue;
      SlotRange s{.first = static_cast<std::uint16_t>(range.elements[0].integer),
                  .last = static_cast<std::uint16_t>(range.elements[1].integer),
                  .master = *master,
                  .replicas = {}};
      for (std::size_t i = 3; i < range.elements.size(); ++i) {
        if (auto rep = node_of(range.elements[i])) s.replicas.push_back(*rep);
      }
      if (s.first > s.last || s.last >= kClusterSlots) continue;
      next.push_back(std::move(s));
    }
    if (next.empty()) {
      return std::unexpected(
          cluster_error(core::ErrorCode::kIo, "CLUSTER SLOTS: no slot is served"));
    }
    std::sort(next.begin(), next.end(),
              [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
    owner.fill(kNoOwner);
    for (std::size_t i = 0; i < next.size(); ++i) {
      for (std::uint32_t slot = next[i].first; slot <= next[i].last; ++slot) {
        owner[slot] = static_cast<std::uint16_t>(i);
      }
    }
    ranges = std::move(next);
    ++stats.refreshes;
    return {};
  }

  core::Result<void> refresh() {
    core::Error last{core::ErrorCode::kClosed, "no node to ask"};
    // Known masters first (the cluster as it was), then their replicas, then the seeds.
    std::vector<ClusterNode> ask;
    for (const auto& r : ranges) {
      if (std::find(ask.begin(), ask.end(), r.master) == ask.end()) ask.push_back(r.master);
    }
    for (const auto& r : ranges) {
      for (const auto& rep : r.replicas) {
        if (std::find(ask.begin(), ask.end(), rep) == ask.end()) ask.push_back(rep);
      }
    }
    for (const auto& s : seeds) {
      ClusterNode n{.host = s.host, .port = s.port, .id = {}};
      if (std::find(ask.begin(), ask.end(), n) == ask.end()) ask.push_back(n);
    }
    const auto now = Clock::now();
    std::stable_partition(ask.begin(), ask.end(), [&](const ClusterNode& n) {
      const auto it = down_until.find(n.name());
      return it == down_until.end() || it->second < now;
    });
    for (const auto& n : ask) {
      RedisClient* c = connection(n);
      if (c == nullptr) {
        last = cluster_error(core::ErrorCode::kClosed, n.name() + ": does not answer");
        continue;
      }
      auto ok = read_map(*c, n.host);
      if (ok) return ok;
      last = ok.error();
      if (last.code == core::ErrorCode::kInvalidArgument) return ok;  // not a cluster node
    }
    return std::unexpected(last);
  }

  std::optional<ClusterNode> owner_of(std::uint16_t slot) const {
    const std::uint16_t i = owner[slot];
    if (i == kNoOwner) return std::nullopt;
    return ranges[i].master;
  }

  // One command, following redirections and waiting out a failover.
  core::Result<RedisReply> run(const std::vector<std::string>& args, std::size_t key_index) {
    if (args.size() <= key_index) {
      return std::unexpected(cluster_error(
          core::ErrorCode::kInvalidArgument,
          fmt::format("{}: no key at argument {}", args.empty() ? "" : args[0], key_index)));
    }
    const std::uint16_t slot = key_slot(args[key_index]);
    const auto deadline = Clock::now() + options.failover_wait;
    std::optional<ClusterNode> target = owner_of(slot);
    bool asking = false;
    int redirects = 0;
    core::Error last =
        cluster_error(core::ErrorCode::kClosed, fmt::format("slot {} has no master", slot));
    while (true) {
      if (target) {
        RedisClient* c = connection(*target);
        if (c != nullptr) {
          core::Result<RedisReply> reply = std::unexpected(core::Error{});
          if (asking) {
            auto both = c->pipeline({{"ASKING"}, args});
            if (both) {
              reply = std::move(both->back());
            } else {
              reply = std::unexpected(both.error());
            }
          } else {
            reply = c->command(args);
          }
          asking = false;
          if (reply) {
            if (reply->is_error("MOVED") || reply->is_error("ASK")) {
              const bool ask = reply->is_error("ASK");
              auto to = redirect_target(reply->str);
              if (!to || ++redirects > kMaxRedirects) {
                return std::unexpected(cluster_error(core::ErrorCode::kIo,
                                                     fmt::format("{}: {}", args[0], reply->str)));
              }
              if (ask) {
                ++stats.asks;
                asking = true;
              } else {
                ++stats.moved;
                (void)refresh();  // the whole map: a reshard moves many slots at once
              }
              target = *to;
              continue;
            }
            if (!reply->is_error("TRYAGAIN") && !reply->is_error("CLUSTERDOWN")) return reply;
            last = cluster_error(core::ErrorCode::kIo, reply->str);
          } else {
            last = reply.error();
          }
        } else {
          last = cluster_error(core::ErrorCode::kClosed, target->name() + ": does not answer");
        }
      }
      // A master down (or a slot in flux): the map again, until a replica has taken over.
      if (Clock::now() >= deadline) return std::unexpected(last);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      (void)refresh();
      target = owner_of(slot);
    }
  }
};

ClusterClient::ClusterClient(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ClusterClient::ClusterClient(ClusterClient&&) noexcept = default;
ClusterClient& ClusterClient::operator=(ClusterClient&&) noexcept = default;
ClusterClient::~ClusterClient() = default;

core::Result<ClusterClient> ClusterClient::connect(const std::vector<config::RedisEndpoint>& seeds,
                                                   ClusterOptions options) {
  if (seeds.empty()) {
    return core::fail(core::ErrorCode::kInvalidArgument, "redis cluster: no seed nodes");
  }
  auto impl = std::make_unique<Impl>();
  impl->seeds = seeds;
  impl->options = std::move(options);
  if (impl->options.username.empty()) impl->options.username = seeds.front().username;
  if (impl->options.password.empty()) impl->options.password = seeds.front().password;
  impl->owner.fill(kNoOwner);
  if (auto ok = impl->refresh(); !ok) return std::unexpected(ok.error());
  return ClusterClient(std::move(impl));
}

core::Result<RedisReply> ClusterClient::command(const std::vector<std::string>& args,
                                                std::size_t key_index) {
  return impl_->run(args, key_index);
}

core::Result<std::vector<RedisReply>> ClusterClient::pipeline(
    const std::vector<std::vector<std::string>>& commands, std::size_t key_index) {
  std::vector<std::optional<RedisReply>> out(commands.size());
  // Commands by master, in order within each.
  std::map<std::string, std::pair<ClusterNode, std::vector<std::size_t>>> groups;
  std::vector<std::size_t> alone;  // no key or no owner: sent on their own
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].size() <= key_index) {
      alone.push_back(i);
      continue;
    }
    auto m = impl_->owner_of(key_slot(commands[i][key_index]));
    if (!m) {
      alone.push_back(i);
      continue;
    }
    auto& g = groups[m->name()];
    g.first = *m;
    g.second.push_back(i);
  }
  // Every master written to, then every one read: the masters work at the same time.
  std::vector<std::pair<RedisClient*, const std::vector<std::size_t>*>> sent;
  for (auto& [name, g] : groups) {
    RedisClient* c = impl_->connection(g.first);
    std::vector<std::vector<std::string>> batch;
    for (const std::size_t i : g.second) batch.push_back(commands[i]);
    if (c == nullptr || !c->send(batch)) {
      alone.insert(alone.end(), g.second.begin(), g.second.end());
      continue;
    }
    sent.emplace_back(c, &g.second);
  }
  for (auto& [c, indices] : sent) {
    for (std::size_t k = 0; k < indices->size(); ++k) {
      auto r = c->receive();
      if (!r) {  // the connection broke: the rest of this master's go again, one by one
        alone.insert(alone.end(), indices->begin() + static_cast<std::ptrdiff_t>(k),
                     indices->end());
        break;
      }
      if (r->is_error("MOVED") || r->is_error("ASK") || r->is_error("TRYAGAIN") ||
          r->is_error("CLUSTERDOWN")) {
        alone.push_back((*indices)[k]);
        continue;
      }
      out[(*indices)[k]] = std::move(*r);
    }
  }
  std::sort(alone.begin(), alone.end());
  for (const std::size_t i : alone) {
    auto r = impl_->run(commands[i], key_index);
    if (!r) return std::unexpected(r.error());
    out[i] = std::move(*r);
  }
  std::vector<RedisReply> replies;
  replies.reserve(out.size());
  for (auto& r : out) replies.push_back(std::move(*r));
  return replies;
}

core::Result<void> ClusterClient::refresh() { return impl_->refresh(); }

const std::vector<SlotRange>& ClusterClient::slots() const noexcept { return impl_->ranges; }

std::vector<ClusterNode> ClusterClient::masters() const {
  std::vector<ClusterNode> out;
  for (const auto& r : impl_->ranges) {
    if (std::find(out.begin(), out.end(), r.master) == out.end()) out.push_back(r.master);
  }
  return out;
}

ClusterNode ClusterClient::master_of(std::uint16_t slot) const {
  return impl_->owner_of(slot % kClusterSlots).value_or(ClusterNode{});
}

RedisClient* ClusterClient::node(const ClusterNode& n) { return impl_->connection(n); }

const ClusterStats& ClusterClient::stats() const noexcept { return impl_->stats; }

}  // namespace nautilus::bus_redis
