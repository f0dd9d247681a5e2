// A shell command run to the end for tests (a Python reference, the binary): its exit status
// and everything it printed, standard error included.
//
//   auto [status, out] = nautilus::test::run_command("/usr/bin/python3 ref.py data.csv");
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <utility>

namespace nautilus::test {

// status: the exit code, or -1 when the command could not start or did not exit normally.
inline std::pair<int, std::string> run_command(const std::string& cmd) {
  std::FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (f != nullptr && std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) {
    out += buf.data();
  }
  const int status = f == nullptr ? -1 : ::pclose(f);
  return {status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace nautilus::test
