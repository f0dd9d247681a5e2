// Who this process is, for names other processes must tell apart: consumers in a Redis group,
// sweep workers, a replay's writer id, a sweep's id.
//
//   const std::string me = core::host_and_pid();   // "trader-7-48213"
#pragma once

#include <string>

namespace nautilus::core {

// "<host name>-<pid>": unique among the live processes of machines with distinct host names.
[[nodiscard]] std::string host_and_pid();

}  // namespace nautilus::core
