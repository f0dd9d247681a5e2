#include "nautilus/bus_redis/registry.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include "nautilus/bus_redis/key_client.hpp"

namespace nautilus::bus_redis {
namespace {

using core::Result;

std::string key_of(const EngineRecord& r) {
  return std::string(kRegistryPrefix) + r.name + ":" + r.instance;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

Result<void> write(KeyClient& c, const EngineRecord& r, std::chrono::seconds ttl) {
  const std::string key = key_of(r);
  auto replies =
      c.pipeline({{"HSET", key, "name", r.name, "instance", r.instance, "host", r.host, "port",
                   std::to_string(r.port), "subscriptions", join(r.subscriptions), "version",
                   r.version, "started", std::to_string(r.started), "heartbeat",
                   std::to_string(core::realtime_clock().now())},
                  {"EXPIRE", key, std::to_string(ttl.count())}});
  if (!replies) return std::unexpected(replies.error());
  for (const auto& rep : *replies) {
    if (rep.is_error()) return core::fail(core::ErrorCode::kInternal, "registry: " + rep.str);
  }
  return {};
}

}  // namespace

struct Registration::Impl {
  config::RedisEndpoint endpoint;
  EngineRecord record;
  std::chrono::seconds ttl;
  std::optional<KeyClient> client;  // the main Redis: one server or a cluster
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;

  void beat() {
    if (!client || !client->healthy()) {
      auto c = KeyClient::connect(endpoint, std::chrono::seconds(1));
      if (!c) return;  // Redis away: try again next beat; the record may expire meanwhile
      client.emplace(std::move(*c));
    }
    if (!write(*client, record, ttl)) client.reset();
  }
  void loop() {
    std::unique_lock lock(mu);
    do {
      beat();
    } while (!cv.wait_for(lock, ttl / 3, [this] { return stopping; }));
  }
};

Registration::Registration(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Registration>> Registration::start(const config::RedisEndpoint& main,
                                                          EngineRecord record,
                                                          std::chrono::seconds ttl) {
  if (record.name.empty() || record.instance.empty()) {
    return core::fail(core::ErrorCode::kInvalidArgument, "registry: name and instance required");
  }
  if (ttl.count() < 3) return core::fail(core::ErrorCode::kInvalidArgument, "registry: ttl < 3 s");
  if (record.started == 0) record.started = core::realtime_clock().now();
  auto impl = std::make_unique<Impl>();
  impl->endpoint = main;
  impl->record = std::move(record);
  impl->ttl = ttl;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->loop(); });
  return std::unique_ptr<Registration>(new Registration(std::move(impl)));
}

Registration::~Registration() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  if (auto& client = impl_->client; client.has_value() && client->healthy()) {
    auto deleted = client->command({"DEL", key_of(impl_->record)});
    (void)deleted;  // best effort: the TTL removes the record anyway
  }
}

Result<std::vector<EngineRecord>> list_engines(const config::RedisEndpoint& main) {
  auto c = KeyClient::connect(main, std::chrono::seconds(2));
  if (!c) return std::unexpected(c.error());
  // On a cluster the records sit on every master (each key in its own slot): scan each.
  auto nodes = c->nodes();
  if (!nodes) return std::unexpected(nodes.error());
  std::vector<std::string> keys;
  for (RedisClient* node : *nodes) {
    std::string cursor = "0";
    do {
      auto r = node->command(
          {"SCAN", cursor, "MATCH", std::string(kRegistryPrefix) + "*", "COUNT", "100"});
      if (!r) return std::unexpected(r.error());
      if (r->is_error() || r->elements.size() != 2) {
        return core::fail(core::ErrorCode::kInternal, "registry: SCAN failed: " + r->str);
      }
      cursor = r->elements[0].str;
      for (const auto& k : r->elements[1].elements) keys.push_back(k.str);
    } while (cursor != "0");
  }
  std::vector<EngineRecord> out;
  for (const auto& key : keys) {
    auto h = c->command({"HGETALL", key});
    if (!h || h->is_error() || h->elements.empty()) continue;  // expired meanwhile
    EngineRecord rec;
    for (std::size_t i = 0; i + 1 < h->elements.size(); i += 2) {
      const auto& f = h->elements[i].str;
      const auto& v = h->elements[i + 1].str;
      try {
        if (f == "name")
          rec.name = v;
        else if (f == "instance")
          rec.instance = v;
        else if (f == "host")
          rec.host = v;
        else if (f == "port")
          rec.port = static_cast<std::uint16_t>(std::stoul(v));
        else if (f == "subscriptions")
          rec.subscriptions = split(v);
        else if (f == "version")
          rec.version = v;
        else if (f == "started")
          rec.started = std::stoll(v);
        else if (f == "heartbeat")
          rec.heartbeat = std::stoll(v);
      } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch)
        // A hand-edited or foreign record: keep the fields that parsed, list it anyway.
      }
    }
    out.push_back(std::move(rec));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.instance) < std::tie(b.name, b.instance);
  });
  return out;
}

}  // namespace nautilus::bus_redis
