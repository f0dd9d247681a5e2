// What an engine does with an input it cannot use (a bar out of order, a non-finite price): it
// counts it, for /metrics and /health, and prints the first few to standard error with why, so
// that a bad feed is seen at once without a flood of lines. Any thread may add().
//
//   engine::Rejections rejected_{"vpin"};
//   rejected_.add("a bar not after the previous one", bar.symbol.value());
//   p.sample("nautilus_vpin_rejected_total", {{"engine", "vpin"}}, rejected_.count());
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace nautilus::engine {

class Rejections {
 public:
  explicit Rejections(std::string engine, std::uint64_t printed = 10)
      : engine_(std::move(engine)), printed_(printed) {}

  // Counts one; prints "<engine>: ignored <why> (<what>)" while fewer than `printed` were.
  void add(std::string_view why, std::string_view what) noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }

 private:
  std::string engine_;
  std::uint64_t printed_;
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace nautilus::engine
