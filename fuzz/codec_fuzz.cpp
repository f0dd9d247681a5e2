// libFuzzer target for the wire decoders (`make fuzz`). Property: decoding (one envelope or a
// batch) never crashes, and
// anything that decodes re-encodes to a canonical form that decodes to the same bytes again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nautilus/bus/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus::bus;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // A batch must never crash either, and each element it yields must re-encode.
  if (auto batch = codec::decode_batch(input)) {
    for (const auto& e : *batch) {
      std::string out;
      if (e && !codec::encode(*e, out)) std::abort();
    }
  }
  auto env = codec::decode(input);
  if (!env) return 0;
  std::string once;
  if (!codec::encode(*env, once)) std::abort();
  auto again = codec::decode(once);
  if (!again) std::abort();
  std::string twice;
  if (!codec::encode(*again, twice) || twice != once) std::abort();
  return 0;
}
