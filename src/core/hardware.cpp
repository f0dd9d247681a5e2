#include "nautilus/core/hardware.hpp"

#include <sched.h>
#include <unistd.h>

#include <fstream>
#include <string_view>

namespace nautilus::core {
namespace {

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(' '));
        return v;
      }
    }
  }
  return "unknown";
}

std::string detect_simd() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  if (__builtin_cpu_supports("avx")) return "avx";
  if (__builtin_cpu_supports("sse4.2")) return "sse4.2";
#endif
  return "baseline";
}

// A /proc/meminfo value ("MemTotal:  24580000 kB") in bytes.
std::uint64_t meminfo(std::string_view key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      return std::stoull(line.substr(key.size() + 1)) * 1024;
    }
  }
  return 0;
}

}  // namespace

HardwareInfo hardware() {
  static const HardwareInfo fixed = [] {
    HardwareInfo h;
    h.cpu_model = read_cpu_model();
    cpu_set_t set;
    CPU_ZERO(&set);
    h.logical_cores =
        sched_getaffinity(0, sizeof set, &set) == 0 ? static_cast<unsigned>(CPU_COUNT(&set)) : 1U;
    h.online_cores = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
    h.simd = detect_simd();
    h.memory_total_bytes = meminfo("MemTotal");
#ifdef NAUTILUS_CUDA
    h.cuda_built = true;
#endif
    return h;
  }();
  HardwareInfo h = fixed;
  h.memory_available_bytes = meminfo("MemAvailable");
  return h;
}

}  // namespace nautilus::core
