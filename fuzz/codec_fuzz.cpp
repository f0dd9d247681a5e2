// libFuzzer target for the wire decoder (`make fuzz`). Property: decoding never crashes, and
// anything that decodes re-encodes to a canonical form that decodes to the same bytes again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nautilus/bus/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus::bus;
  auto env = codec::decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!env) return 0;
  std::string once;
  if (!codec::encode(*env, once)) std::abort();
  auto again = codec::decode(once);
  if (!again) std::abort();
  std::string twice;
  if (!codec::encode(*again, twice) || twice != once) std::abort();
  return 0;
}
