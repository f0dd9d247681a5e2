// One MessageCodec per message type, generated from model::AllMessages: adding a type to that
// list is all the codec needs.
#include "payloads.hpp"

#include <array>

#include "described.hpp"
#include "nautilus/model/messages.hpp"

namespace nautilus::bus::codec::detail {
namespace {

namespace mp11 = boost::mp11;

template <class T>
struct Described {
  static constexpr std::array<std::string_view, kMemberCount<T>> kNames = member_names<T>();
  static_assert(kMemberCount<T> <= Fields::kMaxFields, "a message has at most 64 fields");
  static_assert(model::kHeapMessage<T> || bus::detail::kStoredInline<T>,
                "a message without arrays must travel inline (trivially copyable, <= 112 bytes)");

  static bool encode(Packer& pk, const Payload& p) {
    const T* v = p.get<T>();
    if (v == nullptr) return false;
    encode_described(pk, *v);
    return true;
  }

  static TypeInfo info() {
    TypeInfo t{.name = T::kTypeName, .inline_size = bus::detail::kStoredInline<T> ? sizeof(T) : 0};
    mp11::mp_for_each<Members<T>>([&](auto d) {
      using M = std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>;
      t.fields.push_back(
          {.name = d.name, .kind = kind_text<M>(d.name), .optional = is_optional_field<T>(d.name)});
    });
    return t;
  }

  static constexpr MessageCodec kCodec{
      T::kTypeName, Payload::type_id<T>(), FieldTable{T::kTypeName, kNames},
      &encode,      &decode_described<T>,  &decode_in_order<T>,
      &info};
};

template <class List>
struct CodecTable;
template <class... Ts>
struct CodecTable<mp11::mp_list<Ts...>> {
  static constexpr std::array<MessageCodec, sizeof...(Ts)> kAll = {Described<Ts>::kCodec...};
};

constexpr auto& kCodecs = CodecTable<model::AllMessages>::kAll;

}  // namespace

const MessageCodec* find_codec(std::string_view type) noexcept {
  for (const auto& c : kCodecs) {
    // NOLINTNEXTLINE(bugprone-suspicious-stringview-data-usage): sizes compared just before
    if (c.type.size() == type.size() && same_bytes(c.type.data(), type.data(), type.size())) {
      return &c;
    }
  }
  return nullptr;
}

const MessageCodec* codec_of(const Payload& p) noexcept {
  const void* id = p.type_id();
  for (const auto& c : kCodecs) {
    if (c.type_id == id) return &c;
  }
  return nullptr;
}

std::span<const MessageCodec> all_codecs() noexcept { return kCodecs; }

}  // namespace nautilus::bus::codec::detail
