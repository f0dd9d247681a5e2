// libFuzzer target for the wire decoders (`make fuzz`). Properties: decoding (one envelope or
// a batch) never crashes; decode() (streaming, with the generic decoder behind it) gives the
// same answer as the generic decoder alone; and anything that decodes re-encodes to a
// canonical form that decodes to the same bytes again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nautilus/bus/codec.hpp"

namespace {

using namespace nautilus::bus;

void same_result(const nautilus::core::Result<Envelope>& a,
                 const nautilus::core::Result<Envelope>& b) {
  if (a.has_value() != b.has_value()) std::abort();
  if (!a) {
    if (a.error().code != b.error().code || a.error().message != b.error().message) std::abort();
    return;
  }
  std::string x, y;
  if (!codec::encode(*a, x) || !codec::encode(*b, y) || x != y) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto batch = codec::decode_batch(input);
  auto batch_generic = codec::decode_batch_generic(input);
  if (batch.has_value() != batch_generic.has_value()) std::abort();
  if (batch) {
    if (batch->size() != batch_generic->size()) std::abort();
    for (std::size_t i = 0; i < batch->size(); ++i) same_result((*batch)[i], (*batch_generic)[i]);
  }
  auto env = codec::decode(input);
  same_result(env, codec::decode_generic(input));
  if (!env) return 0;
  std::string once;
  if (!codec::encode(*env, once)) std::abort();
  auto again = codec::decode(once);
  if (!again) std::abort();
  std::string twice;
  if (!codec::encode(*again, twice) || twice != once) std::abort();
  return 0;
}
