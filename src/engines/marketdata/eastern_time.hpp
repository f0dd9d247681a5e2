// US/Eastern time for the sources that stamp their series in New York time (Alpha Vantage)
// or whose daily bars close there (IBKR). Private to the marketdata engine.
#pragma once

#include <ctime>

namespace nautilus::marketdata::detail {

// The UTC offset in hours of a New York local date and hour: DST from the second Sunday of
// March to the first Sunday of November, switching at 02:00 local.
inline int eastern_offset_hours(int y, int m, int d, int hour) {
  auto nth_sunday = [y](int month, int n) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = 1;
    const std::time_t t = timegm(&tm);
    std::tm out{};
    gmtime_r(&t, &out);
    return 1 + (7 - out.tm_wday) % 7 + 7 * (n - 1);
  };
  const int dst_start = nth_sunday(3, 2);
  const int dst_end = nth_sunday(11, 1);
  const bool dst = (m > 3 && m < 11) ||
                   (m == 3 && (d > dst_start || (d == dst_start && hour >= 2))) ||
                   (m == 11 && (d < dst_end || (d == dst_end && hour < 2)));
  return dst ? -4 : -5;
}

}  // namespace nautilus::marketdata::detail
