// Redis Streams primitives under the bus transport: a writer that appends encoded envelopes
// with pipelined XADD and trims by MAXLEN ~ or MINID, and a consumer-group reader (XREADGROUP
// BLOCK, XACK) whose group creation is idempotent and which recreates its group after a Redis
// restart (NOGROUP) instead of failing in a loop. Each entry carries one encoded envelope
// in field "d" (docs/WIRE_FORMAT.md).
//
//   StreamWriter w(client, "nautilus:engine_communication", {.maxlen = 1'000'000});
//   auto ids = w.append({bytes1, bytes2});            // one round trip
//   GroupReader r(client2, "nautilus:engine_communication", "risk", "risk-1");
//   auto batch = r.read(512, std::chrono::milliseconds(100));
//   ... handle ...; (void)r.ack(batch->ids());
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::bus_redis {

inline constexpr std::string_view kDataField = "d";
// Several envelopes in one entry: a MessagePack array of envelope maps (codec::encode_batch).
// Packing cuts Redis's work per message roughly by the batch size.
inline constexpr std::string_view kBatchField = "b";
// The writing process's instance id, so a process can skip what it wrote itself.
inline constexpr std::string_view kOriginField = "o";

// One entry to append: its data field (kDataField or kBatchField) and bytes.
struct EntryData {
  std::string_view field;
  std::string_view bytes;
};

struct Trim {
  std::size_t maxlen = 0;               // > 0: XADD ... MAXLEN ~ maxlen
  std::chrono::milliseconds min_age{};  // > 0 (and maxlen 0): XADD ... MINID ~ now - min_age
};

class StreamWriter {
 public:
  StreamWriter(RedisClient& client, std::string stream, Trim trim);

  // Appends each payload as one entry, in order, pipelined; `origin` (if not empty) is stored
  // beside it. Returns the entry ids.
  [[nodiscard]] core::Result<std::vector<std::string>> append(
      const std::vector<std::string>& payloads, std::string_view origin = {});
  [[nodiscard]] core::Result<std::vector<std::string>> append(const std::vector<EntryData>& entries,
                                                              std::string_view origin);
  // append() in two halves, so a caller can encode the next round while Redis appends this
  // one: the XADDs go out (the entries' bytes are copied when it returns), and later their ids
  // come back. Nothing else may use the client in between.
  [[nodiscard]] core::Result<void> send_append(const std::vector<EntryData>& entries,
                                               std::string_view origin);
  // send_append() without the write: the XADDs wait in the client until its flush() (or the
  // next receive), so several streams' rounds on one connection leave together.
  [[nodiscard]] core::Result<void> queue_append(const std::vector<EntryData>& entries,
                                                std::string_view origin);
  [[nodiscard]] core::Result<std::vector<std::string>> receive_append(std::size_t entries);
  [[nodiscard]] const std::string& stream() const noexcept { return stream_; }

 private:
  RedisClient& client_;
  std::string stream_;
  Trim trim_;
};

struct StreamEntry {
  std::string stream;
  std::string id;
  std::string data;              // field "d" (one envelope) or "b" (a batch, with `batch` set)
  std::string origin;            // field "o", if present
  std::uint64_t deliveries = 1;  // times the group has delivered it (claimed entries)
  bool batch = false;
  bool malformed = false;  // the entry has neither field
};

// Every entry of `stream` with from <= id <= to (XRANGE ids, "-", "+"), paged by XRANGE.
[[nodiscard]] core::Result<std::vector<StreamEntry>> read_range(RedisClient& client,
                                                                const std::string& stream,
                                                                const std::string& from,
                                                                const std::string& to);

// Reads one or more streams (e.g. a bus's urgent and normal streams) with one XREADGROUP, as
// one consumer of the same group on each.
class GroupReader {
 public:
  GroupReader(RedisClient& client, std::string stream, std::string group, std::string consumer);
  GroupReader(RedisClient& client, std::vector<std::string> streams, std::string group,
              std::string consumer);

  // XGROUP CREATE <stream> <group> <start> MKSTREAM on each stream; an existing group
  // (BUSYGROUP) is success. New groups start at "$" (new entries only); a group recreated after
  // NOGROUP starts at "0": the server lost its data, so all it holds now is unread.
  [[nodiscard]] core::Result<void> ensure_group(std::string_view start = "$");
  // New entries for this consumer (">"), waiting up to `block`, in stream order as given.
  // An empty batch is a timeout. `ack_first`: ids of the first stream to XACK in the same round
  // trip, before the read.
  [[nodiscard]] core::Result<std::vector<StreamEntry>> read(
      std::size_t count, std::chrono::milliseconds block,
      const std::vector<std::string>& ack_first = {});
  // read() in two halves, so a caller can work while Redis prepares the next batch: the
  // XREADGROUP (and XACK) go out, and the entries are taken later. Nothing else may use the
  // client in between.
  [[nodiscard]] core::Result<void> send_read(std::size_t count, std::chrono::milliseconds block,
                                             const std::vector<std::string>& ack_first = {});
  [[nodiscard]] core::Result<std::vector<StreamEntry>> receive_read();
  // Takes over entries of this reader's first stream that another consumer of the group read
  // but has not acknowledged for `min_idle` (it died, or is stuck): XAUTOCLAIM, with each
  // entry's delivery count from XPENDING.
  [[nodiscard]] core::Result<std::vector<StreamEntry>> claim(std::chrono::milliseconds min_idle,
                                                             std::size_t count);
  // XACK on one of this reader's streams.
  [[nodiscard]] core::Result<std::size_t> ack(const std::string& stream,
                                              const std::vector<std::string>& ids);
  [[nodiscard]] core::Result<std::size_t> ack(const std::vector<std::string>& ids) {
    return ack(streams_.front(), ids);
  }

  // XREADGROUP calls that failed (errors, not timeouts), and groups recreated after NOGROUP.
  [[nodiscard]] std::uint64_t failed_reads() const noexcept { return failed_reads_; }
  [[nodiscard]] std::uint64_t group_recreations() const noexcept { return group_recreations_; }
  // XACKs sent with read() that the server refused.
  [[nodiscard]] std::uint64_t failed_acks() const noexcept { return failed_acks_; }

 private:
  RedisClient& client_;
  std::vector<std::string> streams_;
  std::string group_;
  std::string consumer_;
  std::uint64_t failed_reads_ = 0;
  std::uint64_t group_recreations_ = 0;
  std::uint64_t failed_acks_ = 0;
  bool acks_in_flight_ = false;  // an XACK reply precedes the read's
};

}  // namespace nautilus::bus_redis
