// The `nautilus` binary as a child process for tests: stdout and stderr together on a pipe,
// read until a condition holds or a deadline passes, extra environment variables. The including
// target defines NAUTILUS_BIN, the binary's path.
//
//   Child c = nautilus::test::spawn({"run", "--duration", "1"}, {"NAUTILUS_API_TOKEN=t"});
//   c.read_until([](const std::string& t) { return t.find("up in") != t.npos; }, 10s);
//   int status = c.wait_exit(std::chrono::seconds(10));
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

extern char** environ;

namespace nautilus::test {

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout and stderr together
  std::string text;

  // Reads what is available until `pred(text)` holds or `timeout` passes.
  bool read_until(const std::function<bool(const std::string&)>& pred,
                  std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(text)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out, buf, sizeof buf);
      if (n <= 0) return pred(text);
      text.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // Waits for exit (reading output meanwhile); returns the exit status or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      read_until([](const std::string&) { return false; }, std::chrono::milliseconds(50));
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        read_until([](const std::string&) { return false; }, std::chrono::milliseconds(50));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
};

inline Child spawn(std::vector<std::string> args, std::vector<std::string> extra_env = {}) {
  args.insert(args.begin(), NAUTILUS_BIN);
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  for (auto& e : extra_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  Child c;
  if (posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) std::abort();
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

}  // namespace nautilus::test
