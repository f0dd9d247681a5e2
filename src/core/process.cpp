#include "nautilus/core/process.hpp"

#include <unistd.h>

#include <array>

namespace nautilus::core {

std::string host_and_pid() {
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);  // truncated names stay terminated
  return std::string(host.data()) + "-" + std::to_string(::getpid());
}

}  // namespace nautilus::core
