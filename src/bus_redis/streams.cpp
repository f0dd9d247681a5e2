#include "nautilus/bus_redis/streams.hpp"

#include <ctime>
#include <optional>

namespace nautilus::bus_redis {
namespace {

using core::ErrorCode;
using core::fail;
using core::Result;

std::unexpected<core::Error> server_error(std::string_view doing, const RedisReply& r) {
  return fail(ErrorCode::kInternal, std::string(doing) + ": " + r.str);
}

// [id, [field, value, ...]] -> StreamEntry, taking the strings out of the reply (an entry can
// carry hundreds of messages: no copies).
StreamEntry parse_entry(const std::string& stream, RedisReply& e) {
  StreamEntry entry;
  entry.stream = stream;
  entry.id = std::move(e.elements[0].str);
  entry.malformed = true;
  auto& fields = e.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == kDataField || fields[i].str == kBatchField) {
      entry.data = std::move(fields[i + 1].str);
      entry.batch = fields[i].str == kBatchField;
      entry.malformed = false;
    } else if (fields[i].str == kOriginField) {
      entry.origin = std::move(fields[i + 1].str);
    }
  }
  return entry;
}

std::int64_t unix_ms_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

StreamWriter::StreamWriter(RedisClient& client, std::string stream, Trim trim)
    : client_(client), stream_(std::move(stream)), trim_(trim) {}

Result<std::vector<std::string>> StreamWriter::append(const std::vector<std::string>& payloads,
                                                      std::string_view origin) {
  std::vector<EntryData> entries;
  entries.reserve(payloads.size());
  for (const auto& p : payloads) entries.push_back({kDataField, p});
  return append(entries, origin);
}

Result<std::vector<std::string>> StreamWriter::append(const std::vector<EntryData>& entries,
                                                      std::string_view origin) {
  if (auto sent = send_append(entries, origin); !sent) return std::unexpected(sent.error());
  return receive_append(entries.size());
}

Result<void> StreamWriter::send_append(const std::vector<EntryData>& entries,
                                       std::string_view origin) {
  if (auto queued = queue_append(entries, origin); !queued) return queued;
  return client_.flush();
}

Result<void> StreamWriter::queue_append(const std::vector<EntryData>& entries,
                                        std::string_view origin) {
  // The commands refer to the entries' bytes: nothing is copied until hiredis formats them.
  const std::string bound = trim_.maxlen > 0 ? std::to_string(trim_.maxlen)
                            : trim_.min_age.count() > 0
                                ? std::to_string(unix_ms_now() - trim_.min_age.count())
                                : std::string();
  std::vector<std::string_view> head{"XADD", stream_};
  if (trim_.maxlen > 0) {
    head.insert(head.end(), {"MAXLEN", "~", bound});
  } else if (trim_.min_age.count() > 0) {
    head.insert(head.end(), {"MINID", "~", bound});
  }
  head.emplace_back("*");
  std::vector<std::vector<std::string_view>> cmds;
  cmds.reserve(entries.size());
  for (const auto& e : entries) {
    auto& cmd = cmds.emplace_back(head);
    cmd.insert(cmd.end(), {e.field, e.bytes});
    if (!origin.empty()) cmd.insert(cmd.end(), {kOriginField, origin});
  }
  return client_.queue_views(cmds);
}

Result<std::vector<std::string>> StreamWriter::receive_append(std::size_t entries) {
  std::vector<std::string> ids;
  ids.reserve(entries);
  std::optional<core::Error> refused;
  // Every reply is read, even after a refusal, so the connection stays in step.
  for (std::size_t i = 0; i < entries; ++i) {
    auto r = client_.receive();
    if (!r) return std::unexpected(r.error());
    if (r->type != RedisReply::Type::kString) {
      if (!refused) refused = server_error("XADD " + stream_, *r).error();
      continue;
    }
    ids.push_back(std::move(r->str));
  }
  if (refused) return std::unexpected(std::move(*refused));
  return ids;
}

Result<std::vector<StreamEntry>> read_range(RedisClient& client, const std::string& stream,
                                            const std::string& from, const std::string& to) {
  constexpr std::size_t kPage = 1000;
  std::vector<StreamEntry> out;
  std::string start = from;
  while (true) {
    auto r = client.command({"XRANGE", stream, start, to, "COUNT", std::to_string(kPage)});
    if (!r) return std::unexpected(r.error());
    if (r->is_error()) return server_error("XRANGE " + stream, *r);
    if (r->elements.empty()) return out;
    // Exclusive: after the last one.
    const std::string next = "(" + r->elements.back().elements.at(0).str;
    for (auto& e : r->elements) {
      if (e.elements.size() == 2) out.push_back(parse_entry(stream, e));
    }
    if (r->elements.size() < kPage) return out;
    start = next;
  }
}

GroupReader::GroupReader(RedisClient& client, std::string stream, std::string group,
                         std::string consumer)
    : GroupReader(client, std::vector<std::string>{std::move(stream)}, std::move(group),
                  std::move(consumer)) {}

GroupReader::GroupReader(RedisClient& client, std::vector<std::string> streams, std::string group,
                         std::string consumer)
    : client_(client),
      streams_(std::move(streams)),
      group_(std::move(group)),
      consumer_(std::move(consumer)) {}

Result<void> GroupReader::ensure_group(std::string_view start) {
  for (const auto& stream : streams_) {
    auto r = client_.command({"XGROUP", "CREATE", stream, group_, start, "MKSTREAM"});
    if (!r) return std::unexpected(r.error());
    if (r->is_error() && !r->is_error("BUSYGROUP")) {
      return server_error("XGROUP CREATE " + stream, *r);
    }
  }
  return {};
}

Result<std::vector<StreamEntry>> GroupReader::read(std::size_t count,
                                                   std::chrono::milliseconds block,
                                                   const std::vector<std::string>& ack_first) {
  if (auto sent = send_read(count, block, ack_first); !sent) return std::unexpected(sent.error());
  return receive_read();
}

Result<void> GroupReader::send_read(std::size_t count, std::chrono::milliseconds block,
                                    const std::vector<std::string>& ack_first) {
  std::vector<std::string> cmd{"XREADGROUP", "GROUP",
                               group_,       consumer_,
                               "COUNT",      std::to_string(count),
                               "BLOCK",      std::to_string(block.count()),
                               "STREAMS"};
  cmd.insert(cmd.end(), streams_.begin(), streams_.end());
  cmd.insert(cmd.end(), streams_.size(), ">");
  std::vector<std::vector<std::string>> cmds;
  acks_in_flight_ = !ack_first.empty();
  if (acks_in_flight_) {
    // XACK and the next read in one round trip.
    std::vector<std::string> xack{"XACK", streams_.front(), group_};
    xack.insert(xack.end(), ack_first.begin(), ack_first.end());
    cmds.push_back(std::move(xack));
  }
  cmds.push_back(std::move(cmd));
  if (auto ok = client_.send(cmds); !ok) {
    ++failed_reads_;
    return ok;
  }
  return {};
}

Result<std::vector<StreamEntry>> GroupReader::receive_read() {
  if (acks_in_flight_) {
    acks_in_flight_ = false;
    auto ack = client_.receive();
    if (!ack) {
      ++failed_reads_;
      return std::unexpected(ack.error());
    }
    // Entries not acknowledged stay pending in the group and are claimed again later.
    if (ack->type != RedisReply::Type::kInteger) ++failed_acks_;
  }
  auto r = client_.receive();
  if (!r) {
    ++failed_reads_;
    return std::unexpected(r.error());
  }
  if (r->is_error("NOGROUP")) {
    // The server lost its groups (a restart without persistence, a FLUSHALL): recreate them and
    // report an empty batch. One failed call per such event, never a hot error loop.
    ++failed_reads_;
    if (auto ok = ensure_group("0"); !ok) return std::unexpected(ok.error());
    ++group_recreations_;
    return std::vector<StreamEntry>{};
  }
  if (r->is_error()) {
    ++failed_reads_;
    return server_error("XREADGROUP " + streams_.front(), *r);
  }
  std::vector<StreamEntry> out;
  if (r->type == RedisReply::Type::kNil) return out;  // BLOCK timed out
  // [[stream, [[id, [field, value, ...]], ...]], ...]: returned in this reader's stream order.
  for (const auto& want : streams_) {
    for (auto& s : r->elements) {
      if (s.elements.size() != 2 || s.elements[0].str != want) continue;
      for (auto& e : s.elements[1].elements) {
        if (e.elements.size() != 2) continue;
        StreamEntry entry = parse_entry(want, e);
        out.push_back(std::move(entry));
      }
    }
  }
  return out;
}

Result<std::vector<StreamEntry>> GroupReader::claim(std::chrono::milliseconds min_idle,
                                                    std::size_t count) {
  const std::string& stream = streams_.front();
  auto r =
      client_.command({"XAUTOCLAIM", stream, group_, consumer_, std::to_string(min_idle.count()),
                       "0-0", "COUNT", std::to_string(count)});
  if (!r) return std::unexpected(r.error());
  if (r->is_error("NOGROUP")) return std::vector<StreamEntry>{};  // read() recreates it
  if (r->is_error()) return server_error("XAUTOCLAIM " + stream, *r);
  std::vector<StreamEntry> out;
  // [next-cursor, [[id, fields] | nil ...], [deleted ids]]
  if (r->elements.size() < 2) return out;
  for (auto& e : r->elements[1].elements) {
    if (e.elements.size() != 2) continue;  // deleted meanwhile (trimmed)
    out.push_back(parse_entry(stream, e));
  }
  if (out.empty()) return out;
  auto p =
      client_.command({"XPENDING", stream, group_, "-", "+", std::to_string(count * 2), consumer_});
  if (!p) return std::unexpected(p.error());
  for (auto& entry : out) {
    for (const auto& row : p->elements) {
      if (row.elements.size() == 4 && row.elements[0].str == entry.id) {
        entry.deliveries = static_cast<std::uint64_t>(row.elements[3].integer);
      }
    }
  }
  return out;
}

Result<std::size_t> GroupReader::ack(const std::string& stream,
                                     const std::vector<std::string>& ids) {
  if (ids.empty()) return std::size_t{0};
  std::vector<std::string> cmd{"XACK", stream, group_};
  cmd.insert(cmd.end(), ids.begin(), ids.end());
  auto r = client_.command(cmd);
  if (!r) return std::unexpected(r.error());
  if (r->type != RedisReply::Type::kInteger) return server_error("XACK " + stream, *r);
  return static_cast<std::size_t>(r->integer);
}

}  // namespace nautilus::bus_redis
