#include "fields.hpp"

#include <cstdint>
#include <cstring>

#include "nautilus/bus/topic.hpp"

namespace nautilus::bus::codec::detail {
namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(Key::kCount)> kHeaderNames = {
    "v",        "topic",  "type", "prio",     "src", "seq",
    "ts_event", "ts_pub", "corr", "reply_to", "ep",  "payload"};
constexpr FieldTable kHeader{"envelope", kHeaderNames};

std::string name_of(const FieldTable& t, std::size_t i) { return std::string(t.names[i]); }

}  // namespace

const FieldTable& header_table() noexcept { return kHeader; }

std::unexpected<core::Error> Fields::duplicate(std::size_t i) const {
  return decode_error(std::string(table_->what) + ": field '" + name_of(*table_, i) +
                      "' given twice");
}

std::unexpected<core::Error> Fields::missing(std::size_t i) const {
  return decode_error(std::string(table_->what) + ": missing field '" + name_of(*table_, i) + "'");
}

std::unexpected<core::Error> Fields::wrong(std::size_t i, std::string_view expected) const {
  return decode_error(std::string(table_->what) + ": field '" + name_of(*table_, i) + "' is not " +
                      std::string(expected));
}

std::unexpected<core::Error> Fields::field_error(std::size_t i, std::string_view why) const {
  return decode_error(std::string(table_->what) + "." + name_of(*table_, i) + ": " +
                      std::string(why));
}

core::Result<std::string_view> Fields::str(Key k) const {
  const auto i = static_cast<std::size_t>(k);
  const auto* v = find(i);
  if (!v) return missing(i);
  if (v->kind != Value::Kind::kStr) return wrong(i, "a string");
  return v->str();
}

core::Result<std::string_view> Fields::str_or_empty(Key k) const {
  if (!find(k)) return std::string_view{};
  return str(k);
}

core::Result<std::int64_t> Fields::i64(Key k) const {
  const auto i = static_cast<std::size_t>(k);
  const auto* v = find(i);
  if (!v) return missing(i);
  if (v->kind == Value::Kind::kInt) return v->i64();
  if (v->kind == Value::Kind::kUint && v->u64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->u64());
  }
  return wrong(i, "a signed 64-bit integer");
}

core::Result<std::uint64_t> Fields::u64(Key k) const {
  const auto i = static_cast<std::size_t>(k);
  const auto* v = find(i);
  if (!v) return missing(i);
  if (v->kind != Value::Kind::kUint) return wrong(i, "an unsigned integer");
  return v->u64();
}

core::Result<std::uint64_t> Fields::u64_or(Key k, std::uint64_t dflt) const {
  if (!find(k)) return dflt;
  return u64(k);
}

core::Result<bool> Fields::bool_or(Key k, bool dflt) const {
  const Value* v = find(k);
  if (v == nullptr) return dflt;
  if (v->kind != Value::Kind::kBool) return wrong(static_cast<std::size_t>(k), "a bool");
  return v->u64() != 0;
}

template <class Id>
core::Result<Id> create_name(std::string_view s) {
  if (Id id; remembered_name(s, id)) return id;
  auto id = Id::create(s);
  if (!id || s.size() > names::kMemoLength) return id;
  auto& slot = names::memo<Id>().slots[names::hash(s) % 512];
  slot.len_plus_one = static_cast<std::uint8_t>(s.size() + 1);
  std::memcpy(slot.bytes.data(), s.data(), s.size());
  slot.id = *id;
  return id;
}

template core::Result<Topic> create_name<Topic>(std::string_view);
template core::Result<core::EngineId> create_name<core::EngineId>(std::string_view);
template core::Result<core::Symbol> create_name<core::Symbol>(std::string_view);

}  // namespace nautilus::bus::codec::detail
