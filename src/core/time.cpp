#include "nautilus/core/time.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace nautilus::core {
namespace {

// Digits only: from_chars would also take a leading '-' ("T-1:30" is not an hour).
template <class Int>
bool parse_int(std::string_view s, Int& v) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// core depends on the standard library only (no fmt), hence the concatenation.
std::string quoted(std::string_view s) {
  std::string out = "'";
  out += s;
  out += '\'';
  return out;
}

}  // namespace

Result<UnixNanos> parse_timestamp(std::string_view s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos) {
    UnixNanos v = 0;
    if (!parse_int(s, v)) return fail(ErrorCode::kParse, "bad timestamp " + quoted(s));
    return v;
  }
  // YYYY-MM-DD[(T| )HH:MM[:SS[.fffffffff]]][Z]
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  auto bad = [&] {
    return fail(ErrorCode::kParse,
                "bad timestamp " + quoted(s) + " (want ISO-8601 UTC or epoch nanoseconds)");
  };
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return bad();
  if (!parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), mo) ||
      !parse_int(s.substr(8, 2), d)) {
    return bad();
  }
  std::string_view rest = s.substr(10);
  std::int64_t frac_ns = 0;
  if (!rest.empty()) {
    if ((rest[0] != 'T' && rest[0] != ' ') || rest.size() < 6 || rest[3] != ':') return bad();
    if (!parse_int(rest.substr(1, 2), h) || !parse_int(rest.substr(4, 2), mi)) return bad();
    rest.remove_prefix(6);
    if (!rest.empty() && rest[0] == ':') {
      if (rest.size() < 3 || !parse_int(rest.substr(1, 2), sec)) return bad();
      rest.remove_prefix(3);
      if (!rest.empty() && rest[0] == '.') {
        rest.remove_prefix(1);
        std::size_t n = 0;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        if (n == 0 || n > 9) return bad();
        std::int64_t f = 0;
        (void)parse_int(rest.substr(0, n), f);
        for (std::size_t k = n; k < 9; ++k) f *= 10;
        frac_ns = f;
        rest.remove_prefix(n);
      }
    }
    if (rest == "Z" || rest == "+00:00") rest = {};
    if (!rest.empty()) return bad();
  }
  // A date that does not exist (2026-02-30) is an error, not the next month's day: timegm
  // would roll it over silently. A leap second (:60) is read as the next second.
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60) return bad();
  if (d < 1 || d > days_in_month(y, mo)) return bad();
  // Nanoseconds since the epoch in an int64 cover 1970 to 2262.
  if (y < 1970 || y > 2261) {
    return fail(ErrorCode::kOutOfRange, "timestamp " + quoted(s) + " is outside 1970-2261");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::int64_t secs = timegm(&tm);
  return secs * 1'000'000'000 + frac_ns;
}

namespace {

// Writes `n` as `width` digits, zero-padded, at `p`.
char* put_digits(char* p, std::int64_t n, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
  return p + width;
}

}  // namespace

std::string format_timestamp(UnixNanos ts) {
  if (ts >= 0) {
    // The civil date of a day count (H. Hinnant's days_from_civil inverted): gmtime_r and
    // snprintf took 3.8k instructions a call, and a backtest's report formats one per trade
    // row (docs/PERFORMANCE.md, "Backtests"). Before 1970 the general path below.
    const std::int64_t secs = ts / 1'000'000'000;
    const std::int64_t ns = ts % 1'000'000'000;
    const std::int64_t days = secs / 86'400;
    const std::int64_t sod = secs % 86'400;
    const std::int64_t z = days + 719'468;
    const std::int64_t era = z / 146'097;
    const std::int64_t doe = z - era * 146'097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    char buf[40];
    char* p = put_digits(buf, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    if (ns != 0) {
      *p++ = '.';
      p = ns % 1'000'000 == 0 ? put_digits(p, ns / 1'000'000, 3)
          : ns % 1'000 == 0   ? put_digits(p, ns / 1'000, 6)
                              : put_digits(p, ns, 9);
    }
    *p++ = 'Z';
    return {buf, p};
  }
  const auto secs = static_cast<std::time_t>(ts / 1'000'000'000);
  const auto ns = ts % 1'000'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Room for "YYYY-MM-DDTHH:MM:SS.-fffffffff" at any int64 (years 1677 to 2262).
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (ns != 0) {
    // The shortest of milli-, micro- or nanoseconds that is exact.
    const int digits = ns % 1'000'000 == 0 ? 3 : ns % 1'000 == 0 ? 6 : 9;
    const auto frac = digits == 3 ? ns / 1'000'000 : digits == 6 ? ns / 1'000 : ns;
    n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%0*lld", digits,
                       static_cast<long long>(frac));
  }
  std::string out(buf, static_cast<std::size_t>(n));
  out += 'Z';
  return out;
}

}  // namespace nautilus::core
