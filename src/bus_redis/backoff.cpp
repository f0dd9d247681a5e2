// Backoff (backoff.hpp): out of line, because it only runs while a connection is down.
#include "backoff.hpp"

#include <algorithm>

namespace nautilus::bus_redis::detail {

bool Backoff::due() const { return Clock::now() >= next_; }

void Backoff::failed() {
  delay_ = delay_.count() == 0 ? min_ : std::min(delay_ * 2, max_);
  next_ = Clock::now() + delay_;
}

}  // namespace nautilus::bus_redis::detail
