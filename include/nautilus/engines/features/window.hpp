// A fixed-capacity window of the last n values, allocated once: the indicators keep what
// their moving sums must later subtract here, so an update never allocates.
//
//   Window w(20);
//   const double leaving = w.push(x);  // the value that dropped out (0 until the window fills)
#pragma once

#include <cstddef>
#include <vector>

namespace nautilus::features {

class Window {
 public:
  explicit Window(std::size_t n) : values_(n == 0 ? 1 : n, 0.0) {}

  // Stores x and returns the value it replaced: the one that left the window, or 0 while the
  // window is still filling.
  double push(double x) noexcept {
    double& slot = values_[head_];
    const double leaving = slot;
    slot = x;
    if (++head_ == values_.size()) head_ = 0;
    if (size_ < values_.size()) ++size_;
    return leaving;
  }
  // The oldest value held, which the next push() of a full window replaces.
  [[nodiscard]] double oldest() const noexcept {
    return size_ < values_.size() ? values_[0] : values_[head_];
  }
  [[nodiscard]] bool full() const noexcept { return size_ == values_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return values_.size(); }
  // The i-th value from the oldest (i < size()).
  [[nodiscard]] double at(std::size_t i) const noexcept {
    const std::size_t start = full() ? head_ : 0;
    const std::size_t j = start + i;
    return values_[j < values_.size() ? j : j - values_.size()];
  }
  void reset() noexcept {
    for (double& v : values_) v = 0.0;
    head_ = 0;
    size_ = 0;
  }

 private:
  std::vector<double> values_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace nautilus::features
