#include "nautilus/config/bus_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <span>
#include <sstream>

// TOML values arrive as Result<std::optional<T>>: every one is checked (`if (!r)` for the
// error, `if (*r)` for presence) before `**r`; clang-tidy's optional-access check does not
// follow the double dereference.
// NOLINTBEGIN(bugprone-unchecked-optional-access)
namespace nautilus::config {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;

std::unexpected<core::Error> bad(std::string_view where, std::string_view why) {
  return fail(ErrorCode::kInvalidArgument, std::string(where) + ": " + std::string(why));
}

Result<std::int64_t> parse_int(std::string_view where, std::string_view s, std::int64_t lo,
                               std::int64_t hi) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return bad(where, "'" + std::string(s) + "' is not an integer");
  }
  if (v < lo || v > hi) {
    return bad(where,
               std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

Result<bool> parse_bool(std::string_view where, std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
  if (l == "0" || l == "false" || l == "no" || l == "off") return false;
  return bad(where, "'" + std::string(s) + "' is not a boolean (1/0, true/false, yes/no, on/off)");
}

Result<std::string> parse_host(std::string_view where, std::string_view s) {
  if (s.empty()) return bad(where, "empty host");
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/') {
      return bad(where, "'" + std::string(s) + "' is not a host name or address");
    }
  }
  return std::string(s);
}

Result<Durability> parse_durability(std::string_view where, std::string_view s) {
  if (s == "local") return Durability::kLocal;
  if (s == "replicated") return Durability::kReplicated;
  return bad(where, "must be \"local\" or \"replicated\", not '" + std::string(s) + "'");
}

// "host:port,host:port" (the environment) or one item of a TOML array.
Result<ClusterSeed> parse_seed(std::string_view where, std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    return bad(where, "'" + std::string(s) + "' is not host:port");
  }
  auto host = parse_host(where, s.substr(0, colon));
  if (!host) return std::unexpected(host.error());
  auto port = parse_int(where, s.substr(colon + 1), 1, 65535);
  if (!port) return std::unexpected(port.error());
  return ClusterSeed{.host = *host, .port = static_cast<std::uint16_t>(*port)};
}

Result<std::vector<ClusterSeed>> parse_seed_list(std::string_view where, std::string_view s) {
  std::vector<ClusterSeed> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    auto seed = parse_seed(where, s.substr(0, comma));
    if (!seed) return std::unexpected(seed.error());
    out.push_back(std::move(*seed));
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  if (out.empty()) return bad(where, "no seed nodes");
  return out;
}

constexpr std::int64_t kMaxShards = 1024;

Result<std::string> parse_stream(std::string_view where, std::string_view s) {
  if (s.empty() || s.size() > 256) return bad(where, "stream name must be 1..256 characters");
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) return bad(where, "stream name has a space");
  }
  return std::string(s);
}

// ---- the environment ----------------------------------------------------------------------

// One setter per kind of value; each does nothing when the variable is unset.
class EnvReader {
 public:
  explicit EnvReader(const EnvLookup& env) : env_(env) {}

  Result<void> boolean_each(std::string_view var, std::initializer_list<bool*> outs) const {
    const auto v = env_(var);
    if (!v) return {};
    auto b = parse_bool(var, *v);
    if (!b) return std::unexpected(b.error());
    for (bool* o : outs) *o = *b;
    return {};
  }
  Result<void> boolean(std::string_view var, bool& out) const { return boolean_each(var, {&out}); }
  Result<void> host(std::string_view var, std::initializer_list<RedisEndpoint*> eps) const {
    const auto v = env_(var);
    if (!v) return {};
    auto h = parse_host(var, *v);
    if (!h) return std::unexpected(h.error());
    for (auto* e : eps) e->host = *h;
    return {};
  }
  Result<void> durability(std::string_view var, std::initializer_list<RedisEndpoint*> eps) const {
    const auto v = env_(var);
    if (!v) return {};
    auto d = parse_durability(var, *v);
    if (!d) return std::unexpected(d.error());
    for (auto* e : eps) e->durability = *d;
    return {};
  }
  Result<void> cluster(std::string_view var, RedisEndpoint& ep) const {
    const auto v = env_(var);
    if (!v) return {};
    auto seeds = parse_seed_list(var, *v);
    if (!seeds) return std::unexpected(seeds.error());
    ep.cluster = std::move(*seeds);
    return {};
  }
  Result<void> port(std::string_view var, RedisEndpoint& ep) const {
    return integer(var, 1, 65535, [&](std::int64_t p) { ep.port = static_cast<std::uint16_t>(p); });
  }
  Result<void> text(std::string_view var, std::initializer_list<std::string*> outs) const {
    const auto v = env_(var);
    if (!v) return {};
    for (auto* o : outs) *o = *v;
    return {};
  }
  template <class Set>
  Result<void> integer(std::string_view var, std::int64_t lo, std::int64_t hi, Set&& set) const {
    const auto v = env_(var);
    if (!v) return {};
    auto n = parse_int(var, *v, lo, hi);
    if (!n) return std::unexpected(n.error());
    set(*n);
    return {};
  }

 private:
  const EnvLookup& env_;
};

Result<void> apply_env(const EnvLookup& env, BusConfig& c) {
  const EnvReader r(env);
  const Result<void> steps[] = {
      r.boolean("MESSAGEBUS_ENABLED", c.messagebus_enabled),
      r.host("REDIS_HOST", {&c.main, &c.marketdata, &c.logic}),
      r.port("REDIS_PORT", c.main),
      r.integer("REDIS_DB", 0, 65535,
                [&](std::int64_t d) {
                  for (auto* e : {&c.main, &c.marketdata, &c.logic}) e->db = static_cast<int>(d);
                }),
      r.text("REDIS_USERNAME", {&c.main.username, &c.marketdata.username, &c.logic.username}),
      r.text("REDIS_PASSWORD", {&c.main.password, &c.marketdata.password, &c.logic.password}),
      r.host("MARKETDATA_REDIS_HOST", {&c.marketdata}),
      r.port("MARKETDATA_REDIS_PORT", c.marketdata),
      r.host("ENGINE_LOGIC_REDIS_HOST", {&c.logic}),
      r.port("ENGINE_LOGIC_REDIS_PORT", c.logic),
      r.cluster("REDIS_CLUSTER", c.main),
      r.cluster("MARKETDATA_REDIS_CLUSTER", c.marketdata),
      r.cluster("ENGINE_LOGIC_REDIS_CLUSTER", c.logic),
      r.integer("MARKETDATA_REDIS_SHARDS", 1, kMaxShards,
                [&](std::int64_t n) { c.marketdata.shards = static_cast<std::size_t>(n); }),
      r.integer("ENGINE_LOGIC_REDIS_SHARDS", 1, kMaxShards,
                [&](std::int64_t n) { c.logic.shards = static_cast<std::size_t>(n); }),
      r.boolean_each("REDIS_TLS",
                     {&c.main.tls.enabled, &c.marketdata.tls.enabled, &c.logic.tls.enabled}),
      r.boolean_each("MARKETDATA_REDIS_TLS", {&c.marketdata.tls.enabled}),
      r.boolean_each("ENGINE_LOGIC_REDIS_TLS", {&c.logic.tls.enabled}),
      r.text("REDIS_TLS_CA_FILE",
             {&c.main.tls.ca_file, &c.marketdata.tls.ca_file, &c.logic.tls.ca_file}),
      r.text("REDIS_TLS_CERT_FILE",
             {&c.main.tls.cert_file, &c.marketdata.tls.cert_file, &c.logic.tls.cert_file}),
      r.text("REDIS_TLS_KEY_FILE",
             {&c.main.tls.key_file, &c.marketdata.tls.key_file, &c.logic.tls.key_file}),
      r.text("REDIS_TLS_SERVER_NAME",
             {&c.main.tls.server_name, &c.marketdata.tls.server_name, &c.logic.tls.server_name}),
      r.durability("REDIS_DURABILITY", {&c.marketdata, &c.logic}),
      r.durability("MARKETDATA_REDIS_DURABILITY", {&c.marketdata}),
      r.durability("ENGINE_LOGIC_REDIS_DURABILITY", {&c.logic}),
      r.integer("MESSAGEBUS_REPLICATION_TIMEOUT_MS", 1, 60'000,
                [&](std::int64_t ms) { c.replication_timeout = std::chrono::milliseconds(ms); }),
      r.integer("MESSAGEBUS_BUFFER_INTERVAL", 0, 60'000,
                [&](std::int64_t ms) { c.buffer_interval = std::chrono::milliseconds(ms); }),
      r.integer("MESSAGEBUS_BUFFER_SIZE", 1, 1'000'000,
                [&](std::int64_t n) { c.buffer_size = static_cast<std::size_t>(n); }),
      r.integer("MESSAGEBUS_PACK_MAX", 1, 4096,
                [&](std::int64_t n) { c.pack_max = static_cast<std::size_t>(n); }),
      r.integer(
          "MESSAGEBUS_FAILOVER_BUFFER_MB", 1, 65'536,
          [&](std::int64_t mb) { c.failover_buffer_bytes = static_cast<std::size_t>(mb) << 20; }),
      r.text("MESSAGEBUS_LOGIC_STREAM", {&c.logic_stream}),
      r.boolean("AUTO_HARDWARE_ROUTING", c.auto_hardware_routing),
  };
  if (env("LEGACY_REDIS_HOST") || env("LEGACY_REDIS_PORT")) {
    RedisEndpoint legacy = c.main;  // same credentials and db unless the file says otherwise
    legacy.cluster.clear();         // a single server, even where the main Redis is a cluster
    if (auto ok = r.host("LEGACY_REDIS_HOST", {&legacy}); !ok) return ok;
    if (auto ok = r.port("LEGACY_REDIS_PORT", legacy); !ok) return ok;
    c.legacy = legacy;
  }
  for (const auto& s : steps) {
    if (!s) return s;
  }
  if (auto ok = parse_stream("MESSAGEBUS_LOGIC_STREAM", c.logic_stream); !ok) {
    return std::unexpected(ok.error());
  }
  return {};
}

// ---- TOML ----------------------------------------------------------------------------------

Result<void> only_keys(const toml::table& t, std::string_view where,
                       std::span<const std::string_view> allowed) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return bad(std::string(where) + "." + std::string(k.str()),
                 "unknown key (allowed: " + list + ")");
    }
  }
  return {};
}

Result<void> only_keys(const toml::table& t, std::string_view where,
                       std::initializer_list<std::string_view> allowed) {
  return only_keys(t, where, std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

template <class T>
Result<std::optional<T>> get(const toml::table& t, std::string_view where, std::string_view key) {
  const toml::node* n = t.get(key);
  if (!n) return std::optional<T>{};
  if (auto v = n->value<T>()) return v;
  return bad(std::string(where) + "." + std::string(key), "has the wrong type");
}

// An endpoint's cluster key ([redis.main], [redis.marketdata], [redis.logic]) and a bus's
// shards key (only_keys has refused shards elsewhere). A legacy server is a single server.
Result<void> apply_cluster(const toml::table& t, std::string_view where, RedisEndpoint& ep) {
  if (const toml::node* n = t.get("cluster")) {
    const std::string key = std::string(where) + ".cluster";
    const auto* a = n->as_array();
    if (a == nullptr || a->empty()) return bad(key, "must be a non-empty array of \"host:port\"");
    std::vector<ClusterSeed> seeds;
    for (const auto& item : *a) {
      const auto* str = item.as_string();
      if (str == nullptr) return bad(key, "must hold strings \"host:port\"");
      auto seed = parse_seed(key, str->get());
      if (!seed) return std::unexpected(seed.error());
      seeds.push_back(std::move(*seed));
    }
    ep.cluster = std::move(seeds);
  }
  auto shards = get<std::int64_t>(t, where, "shards");
  if (!shards) return std::unexpected(shards.error());
  if (*shards) {
    if (**shards < 1 || **shards > kMaxShards) {
      return bad(std::string(where) + ".shards", "outside 1.." + std::to_string(kMaxShards));
    }
    ep.shards = static_cast<std::size_t>(**shards);
  }
  return {};
}

// What an endpoint table may hold: a plain server's keys (the shared [redis] table, a legacy
// server), also `cluster` (the main Redis), also `shards` (a bus).
enum class EndpointKind : std::uint8_t { kServer, kMain, kBus };

Result<void> apply_endpoint(const toml::table& t, std::string_view where,
                            std::initializer_list<RedisEndpoint*> targets,
                            EndpointKind kind = EndpointKind::kServer) {
  static constexpr std::string_view kKeys[] = {"host",
                                               "port",
                                               "db",
                                               "username",
                                               "password",
                                               "durability",
                                               "tls",
                                               "tls_ca_file",
                                               "tls_cert_file",
                                               "tls_key_file",
                                               "tls_server_name",
                                               "main",
                                               "marketdata",
                                               "logic",
                                               "legacy",
                                               "cluster",
                                               "shards"};
  // The last two are a cluster's: a plain server takes neither, the main Redis not shards.
  const std::size_t allowed = std::size(kKeys) - (kind == EndpointKind::kBus    ? 0
                                                  : kind == EndpointKind::kMain ? 1
                                                                                : 2);
  if (auto ok = only_keys(t, where, std::span<const std::string_view>(kKeys, allowed)); !ok) {
    return ok;
  }
  if (kind != EndpointKind::kServer) {
    for (auto* e : targets) {
      if (auto ok = apply_cluster(t, where, *e); !ok) return ok;
    }
  }
  auto host = get<std::string>(t, where, "host");
  auto port = get<std::int64_t>(t, where, "port");
  auto db = get<std::int64_t>(t, where, "db");
  auto user = get<std::string>(t, where, "username");
  auto pass = get<std::string>(t, where, "password");
  auto durability = get<std::string>(t, where, "durability");
  auto tls = get<bool>(t, where, "tls");
  auto ca = get<std::string>(t, where, "tls_ca_file");
  auto cert = get<std::string>(t, where, "tls_cert_file");
  auto key = get<std::string>(t, where, "tls_key_file");
  auto server_name = get<std::string>(t, where, "tls_server_name");
  for (auto* r : {&host, &user, &pass, &durability, &ca, &cert, &key, &server_name}) {
    if (!*r) return std::unexpected(r->error());
  }
  if (!tls) return std::unexpected(tls.error());
  if (!port) return std::unexpected(port.error());
  if (!db) return std::unexpected(db.error());
  // Named once: the values below are optionals inside checked Results.
  const std::optional<std::string>& host_v = *host;
  const std::optional<std::int64_t>& port_v = *port;
  const std::optional<std::int64_t>& db_v = *db;
  const std::optional<std::string>& user_v = *user;
  const std::optional<std::string>& pass_v = *pass;
  if (host_v) {
    auto h = parse_host(std::string(where) + ".host", *host_v);
    if (!h) return std::unexpected(h.error());
  }
  if (port_v && (*port_v < 1 || *port_v > 65535)) {
    return bad(std::string(where) + ".port", "outside 1..65535");
  }
  if (db_v && (*db_v < 0 || *db_v > 65535))
    return bad(std::string(where) + ".db", "outside 0..65535");
  std::optional<Durability> durability_v;
  if (*durability) {
    auto d = parse_durability(std::string(where) + ".durability", **durability);
    if (!d) return std::unexpected(d.error());
    durability_v = *d;
  }
  for (auto* e : targets) {
    if (host_v) e->host = *host_v;
    if (port_v) e->port = static_cast<std::uint16_t>(*port_v);
    if (db_v) e->db = static_cast<int>(*db_v);
    if (user_v) e->username = *user_v;
    if (pass_v) e->password = *pass_v;
    if (durability_v) e->durability = *durability_v;
    if (*tls) e->tls.enabled = **tls;
    if (*ca) e->tls.ca_file = **ca;
    if (*cert) e->tls.cert_file = **cert;
    if (*key) e->tls.key_file = **key;
    if (*server_name) e->tls.server_name = **server_name;
  }
  return {};
}

using SettingsTable = std::map<std::string, core::SettingValue>;

// An array item as a setting's text: a string as written, a number or boolean as TOML
// writes it (a backtest's [grid] gives candidate values of any setting type this way).
std::optional<std::string> item_text(const toml::node& item) {
  if (const auto* str = item.as_string()) return str->get();
  if (const auto* i = item.as_integer()) return std::to_string(i->get());
  if (const auto* d = item.as_floating_point()) {
    char buf[32];  // the shortest text that reads back as the same double
    const auto r = std::to_chars(buf, buf + sizeof buf, d->get());
    return std::string(buf, r.ptr);
  }
  if (const auto* b = item.as_boolean()) return b->get() ? "true" : "false";
  return std::nullopt;
}

// A table's keys as settings, keeping their TOML types. In an engine's table an array holds
// strings only (a list setting's items); in the other tables (`scalars`) an array may hold
// numbers and booleans too, kept as text, and a table inside gives its keys with its name
// before them ("[grid.strategy] lookback" and "[grid] strategy.lookback" are one key).
Result<void> table_settings(const toml::table& t, const std::string& where, SettingsTable& out,
                            bool scalars = false, const std::string& prefix = "") {
  for (const auto& [key, value] : t) {
    const std::string k = prefix + std::string(key.str());
    if (scalars && out.contains(k)) {  // "a.b" and [x.a] b name one key
      return bad(where + "." += k, "is given twice");
    }
    if (const auto* sub = value.as_table(); sub != nullptr && scalars) {
      if (auto ok = table_settings(*sub, where, out, scalars, k + "."); !ok) return ok;
    } else if (const auto* v = value.as_string()) {
      out[k] = v->get();
    } else if (const auto* i = value.as_integer()) {
      out[k] = static_cast<std::int64_t>(i->get());
    } else if (const auto* d = value.as_floating_point()) {
      out[k] = d->get();
    } else if (const auto* b = value.as_boolean()) {
      out[k] = b->get();
    } else if (const auto* a = value.as_array()) {
      std::vector<std::string> items;
      for (const auto& item : *a) {
        auto text = scalars                       ? item_text(item)
                    : item.as_string() != nullptr ? std::optional(item.as_string()->get())
                                                  : std::nullopt;
        if (!text) {
          return bad(where + "." += k, scalars
                                           ? "an array must hold strings, numbers or booleans only"
                                           : "an array must hold strings only");
        }
        items.push_back(std::move(*text));
      }
      out[k] = std::move(items);
    } else {
      return bad(where + "." += k, "must be a string, number, boolean or array of strings");
    }
  }
  return {};
}

// [engines.<name>]: each engine's settings with their TOML types; the engine's declaration
// validates them at start-up (and names engine.key when one is wrong).
Result<void> engine_tables(const toml::table& root,
                           std::map<std::string, SettingsTable>& engine_settings) {
  if (const auto* engines = root["engines"].as_table()) {
    for (const auto& [name, node] : *engines) {
      const std::string where = "engines." + std::string(name.str());
      const auto* t = node.as_table();
      if (t == nullptr) return bad(where, "must be a table");
      if (auto ok = table_settings(*t, where, engine_settings[std::string(name.str())]); !ok) {
        return ok;
      }
    }
  } else if (root.contains("engines")) {
    return bad("engines", "must be a table");
  }
  return {};
}

Result<toml::table> parse_toml(std::string_view text, std::string_view origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return fail(ErrorCode::kParse, msg.str());
  }
}

Result<void> apply_toml(const toml::table& root, BusConfig& c) {
  if (auto ok = only_keys(root, "config", {"messagebus", "redis", "hardware", "engines"}); !ok) {
    return ok;
  }
  if (const auto* mb = root["messagebus"].as_table()) {
    if (auto ok = only_keys(
            *mb, "messagebus",
            {"enabled", "buffer_interval_ms", "buffer_size", "pack_max", "failover_buffer_mb",
             "logic_stream", "marketdata_stream", "retention", "replication_timeout_ms"});
        !ok) {
      return ok;
    }
    auto enabled = get<bool>(*mb, "messagebus", "enabled");
    if (!enabled) return std::unexpected(enabled.error());
    if (*enabled) c.messagebus_enabled = **enabled;
    auto interval = get<std::int64_t>(*mb, "messagebus", "buffer_interval_ms");
    if (!interval) return std::unexpected(interval.error());
    if (*interval) {
      if (**interval < 0 || **interval > 60'000) {
        return bad("messagebus.buffer_interval_ms", "outside 0..60000");
      }
      c.buffer_interval = std::chrono::milliseconds(**interval);
    }
    auto wait_ms = get<std::int64_t>(*mb, "messagebus", "replication_timeout_ms");
    if (!wait_ms) return std::unexpected(wait_ms.error());
    if (*wait_ms) {
      if (**wait_ms < 1 || **wait_ms > 60'000) {
        return bad("messagebus.replication_timeout_ms", "outside 1..60000");
      }
      c.replication_timeout = std::chrono::milliseconds(**wait_ms);
    }
    auto failover = get<std::int64_t>(*mb, "messagebus", "failover_buffer_mb");
    if (!failover) return std::unexpected(failover.error());
    if (*failover) {
      if (**failover < 1 || **failover > 65'536) {
        return bad("messagebus.failover_buffer_mb", "outside 1..65536");
      }
      c.failover_buffer_bytes = static_cast<std::size_t>(**failover) << 20;
    }
    auto size = get<std::int64_t>(*mb, "messagebus", "buffer_size");
    if (!size) return std::unexpected(size.error());
    if (*size) {
      if (**size < 1 || **size > 1'000'000)
        return bad("messagebus.buffer_size", "outside 1..1000000");
      c.buffer_size = static_cast<std::size_t>(**size);
    }
    auto pack = get<std::int64_t>(*mb, "messagebus", "pack_max");
    if (!pack) return std::unexpected(pack.error());
    if (*pack) {
      if (**pack < 1 || **pack > 4096) return bad("messagebus.pack_max", "outside 1..4096");
      c.pack_max = static_cast<std::size_t>(**pack);
    }
    for (auto [key, field] : {std::pair{"logic_stream", &c.logic_stream},
                              std::pair{"marketdata_stream", &c.marketdata_stream}}) {
      auto s = get<std::string>(*mb, "messagebus", key);
      if (!s) return std::unexpected(s.error());
      if (*s) {
        auto v = parse_stream(std::string("messagebus.") + key, **s);
        if (!v) return std::unexpected(v.error());
        *field = *v;
      }
    }
    if (const auto* r = (*mb)["retention"].as_table()) {
      if (auto ok = only_keys(*r, "messagebus.retention", {"policy", "maxlen", "minid_age_s"});
          !ok) {
        return ok;
      }
      auto policy = get<std::string>(*r, "messagebus.retention", "policy");
      if (!policy) return std::unexpected(policy.error());
      if (*policy) {
        if (**policy == "maxlen")
          c.retention = Retention::kMaxLen;
        else if (**policy == "minid")
          c.retention = Retention::kMinId;
        else
          return bad("messagebus.retention.policy", "must be \"maxlen\" or \"minid\"");
      }
      auto maxlen = get<std::int64_t>(*r, "messagebus.retention", "maxlen");
      if (!maxlen) return std::unexpected(maxlen.error());
      if (*maxlen) {
        if (**maxlen < 1000) return bad("messagebus.retention.maxlen", "below 1000");
        c.retention_maxlen = static_cast<std::size_t>(**maxlen);
      }
      auto age = get<std::int64_t>(*r, "messagebus.retention", "minid_age_s");
      if (!age) return std::unexpected(age.error());
      if (*age) {
        if (**age < 1) return bad("messagebus.retention.minid_age_s", "below 1");
        c.retention_minid_age = std::chrono::seconds(**age);
      }
    }
  } else if (root.contains("messagebus")) {
    return bad("messagebus", "must be a table");
  }
  if (const auto* redis = root["redis"].as_table()) {
    if (auto ok = apply_endpoint(*redis, "redis", {&c.main, &c.marketdata, &c.logic}); !ok)
      return ok;
    if (redis->contains("legacy") && !c.legacy) {
      c.legacy = c.main;
      c.legacy->cluster.clear();  // a single server, even where the main Redis is a cluster
    }
    for (auto [key, ep] :
         {std::pair{"main", &c.main}, std::pair{"marketdata", &c.marketdata},
          std::pair{"logic", &c.logic}, std::pair{"legacy", c.legacy ? &*c.legacy : nullptr}}) {
      if (ep == nullptr) continue;
      const toml::node* n = redis->get(key);
      if (!n) continue;
      const auto* t = n->as_table();
      if (!t) return bad(std::string("redis.") + key, "must be a table");
      if (t->contains("main") || t->contains("marketdata") || t->contains("logic") ||
          t->contains("legacy")) {
        return bad(std::string("redis.") + key, "buses do not nest");
      }
      const EndpointKind kind = ep == &c.marketdata || ep == &c.logic ? EndpointKind::kBus
                                : ep == &c.main                       ? EndpointKind::kMain
                                                                      : EndpointKind::kServer;
      if (auto ok = apply_endpoint(*t, std::string("redis.") + key, {ep}, kind); !ok) return ok;
    }
  } else if (root.contains("redis")) {
    return bad("redis", "must be a table");
  }
  if (const auto* hw = root["hardware"].as_table()) {
    if (auto ok = only_keys(*hw, "hardware", {"auto_routing"}); !ok) return ok;
    auto ar = get<bool>(*hw, "hardware", "auto_routing");
    if (!ar) return std::unexpected(ar.error());
    if (*ar) c.auto_hardware_routing = **ar;
  }
  return engine_tables(root, c.engine_settings);
}

// A TLS endpoint's files: readable, and a client certificate with its key.
Result<void> check_tls(std::string_view where, const TlsSettings& t) {
  if (!t.enabled) return {};
  if (t.cert_file.empty() != t.key_file.empty()) {
    return bad(std::string(where) + (t.cert_file.empty() ? ".tls_cert_file (REDIS_TLS_CERT_FILE)"
                                                         : ".tls_key_file (REDIS_TLS_KEY_FILE)"),
               "a client certificate needs both tls_cert_file and tls_key_file "
               "(REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE)");
  }
  for (auto [key, path] :
       {std::pair{".tls_ca_file", &t.ca_file}, std::pair{".tls_cert_file", &t.cert_file},
        std::pair{".tls_key_file", &t.key_file}}) {
    if (path->empty()) continue;
    std::ifstream in(*path);
    if (!in) return bad(std::string(where) + key, "cannot read '" + *path + "'");
  }
  return {};
}

Result<BusConfig> finish(BusConfig c) {
  for (auto [where, ep] :
       {std::pair{"redis.main", &c.main}, std::pair{"redis.marketdata", &c.marketdata},
        std::pair{"redis.logic", &c.logic},
        std::pair{"redis.legacy", c.legacy ? &*c.legacy : nullptr}}) {
    if (ep == nullptr) continue;
    if (auto ok = check_tls(where, ep->tls); !ok) return std::unexpected(ok.error());
  }
  if (c.legacy && (c.marketdata.is_cluster() || c.logic.is_cluster())) {
    return bad("redis.legacy",
               "migrating from single-Redis straight onto a cluster is not supported: move to "
               "separate bus servers first, then to the cluster");
  }
  if (c.main.is_cluster() && c.main.db != 0) {
    return bad("redis.main.db", "a Redis Cluster has only database 0");
  }
  for (auto [where, ep] :
       {std::pair{"redis.marketdata", &c.marketdata}, std::pair{"redis.logic", &c.logic}}) {
    if (ep->shards > 0 && !ep->is_cluster()) {
      return bad(std::string(where) + ".shards", "needs a cluster (shards split a bus over one)");
    }
    if (ep->is_cluster() && ep->db != 0) {
      return bad(std::string(where) + ".db", "a Redis Cluster has only database 0");
    }
  }
  if (c.legacy && (*c.legacy == c.marketdata || *c.legacy == c.logic)) {
    return bad("redis.legacy", "the legacy server must not be one of the new buses");
  }
  if (c.marketdata_stream == c.logic_stream && c.marketdata == c.logic) {
    return bad("messagebus", "market-data and logic streams share a name on the same server");
  }
  return c;
}

}  // namespace

bool BusConfig::single_redis() const noexcept { return main == marketdata && main == logic; }

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<BusConfig> load_bus_config_text(const EnvLookup& env, std::string_view toml_text,
                                       std::string_view origin) {
  BusConfig c;
  if (auto ok = apply_env(env, c); !ok) return std::unexpected(ok.error());
  if (!toml_text.empty()) {
    NAUTILUS_TRY(root, parse_toml(toml_text, origin));
    if (auto ok = apply_toml(root, c); !ok) {
      return fail(ok.error().code, std::string(origin) + ": " + ok.error().message);
    }
  }
  return finish(std::move(c));
}

Result<BusConfig> load_bus_config(const EnvLookup& env, std::optional<std::string> toml_path) {
  if (!toml_path) return load_bus_config_text(env, "", "environment");
  std::ifstream in(*toml_path);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read config file '" + *toml_path + "'");
  std::stringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  if (body.empty()) return load_bus_config_text(env, "", *toml_path);
  return load_bus_config_text(env, body, *toml_path);
}

Result<EngineTables> load_engine_tables_text(std::string_view toml_text, std::string_view origin,
                                             const std::vector<std::string>& tables) {
  NAUTILUS_TRY(root, parse_toml(toml_text, origin));
  const auto wrap = [&](const core::Error& e) {
    return std::unexpected(core::Error{e.code, std::string(origin) + ": " + e.message});
  };
  std::vector<std::string_view> allowed = {"engines"};
  for (const auto& t : tables) allowed.emplace_back(t);
  if (auto ok = only_keys(root, "config", allowed); !ok) return wrap(ok.error());
  EngineTables out;
  if (auto ok = engine_tables(root, out.engines); !ok) return wrap(ok.error());
  for (const auto& name : tables) {
    const auto* node = root.get(name);
    if (node == nullptr) continue;
    const auto* t = node->as_table();
    if (t == nullptr) return wrap(bad(name, "must be a table").error());
    if (auto ok = table_settings(*t, name, out.tables[name], /*scalars=*/true); !ok) {
      return wrap(ok.error());
    }
  }
  return out;
}

Result<EngineTables> load_engine_tables(const std::string& path,
                                        const std::vector<std::string>& tables) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read config file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return load_engine_tables_text(text.str(), path, tables);
}

}  // namespace nautilus::config
// NOLINTEND(bugprone-unchecked-optional-access)
