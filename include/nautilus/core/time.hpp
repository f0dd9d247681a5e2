// Timestamps as text: ISO-8601 UTC or integer nanoseconds since the epoch in, ISO-8601 UTC out.
// Shared by every reader of outside data (CSV files, HTTP sources) and every REST answer, so
// that one instant is written one way across the platform.
//
//   Result<UnixNanos> t = parse_timestamp("2026-01-05T14:30:00.25Z");  // or "1767623400250000000"
//   std::string s = format_timestamp(*t);                              //
//   "2026-01-05T14:30:00.250Z"
#pragma once

#include <string>
#include <string_view>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"

namespace nautilus::core {

// Accepts integer epoch nanoseconds, or YYYY-MM-DD[(T| )HH:MM[:SS[.f{1,9}]]][Z|+00:00] in UTC;
// years 1970 to 2261, what nanoseconds in an int64 can hold. Errors are kParse for a malformed
// string and kOutOfRange for a year outside that span; both quote the input.
[[nodiscard]] Result<UnixNanos> parse_timestamp(std::string_view s);

// ISO-8601 UTC with "Z", with the shortest of milli-, micro- or nanoseconds that is exact and
// none for a whole second, so that parse_timestamp(format_timestamp(t)) == t.
[[nodiscard]] std::string format_timestamp(UnixNanos ts);

}  // namespace nautilus::core
