// What this machine really has, for /hardware/status and for deciding where heavy work runs.
// Read once from /proc and CPUID; no accelerator is reported that is not present.
//
//   const auto& hw = core::hardware();
//   fmt::print("{} x{} {}\n", hw.cpu_model, hw.logical_cores, hw.simd);
#pragma once

#include <cstdint>
#include <string>

namespace nautilus::core {

struct HardwareInfo {
  std::string cpu_model;
  unsigned logical_cores = 0;  // what this process may run on (affinity mask)
  unsigned online_cores = 0;   // what the machine has online
  std::string simd;            // best of "avx512", "avx2", "avx", "sse4.2", "baseline"
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_available_bytes = 0;  // at the time of the call
  bool cuda_built = false;                   // NAUTILUS_CUDA at build time
};

// CPU facts are read once; memory_available_bytes is read on every call.
[[nodiscard]] HardwareInfo hardware();

}  // namespace nautilus::core
