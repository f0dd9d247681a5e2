// Child processes of the benchmarks (servers under test, anchors, load generators), and the
// benchmark's own memory.
//
//   const pid_t p = spawn({"nginx", "-c", conf}, "/tmp/nginx.log");  // stdout+stderr to the log
//   ...
//   stop(p);  // SIGTERM, then SIGKILL after two seconds
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace nautilus::bench {

// Starts args[0] (searched on PATH) with its output to `log`; -1 when it cannot.
pid_t spawn(std::vector<std::string> args, const std::string& log);
// Sends `sig`, waits up to two seconds, then kills and reaps.
void stop(pid_t pid, int sig = SIGTERM);
// This process's resident memory, in MB (/proc/self/statm).
[[nodiscard]] double rss_mb();

}  // namespace nautilus::bench
