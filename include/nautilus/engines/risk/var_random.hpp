// The Monte Carlo VaR's random numbers: standard normal variates that are the same bits on every
// platform, for a given seed. std::normal_distribution cannot give that (its algorithm is the
// library's choice: libstdc++, libc++ and MSVC draw different numbers from the same engine), so
// the stream is defined here, completely:
//
//   bits     std::mt19937_64 (its output is fixed by the C++ standard, [rand.eng.mers]), run
//            here in blocks of 312 by a twist the compiler can vectorise; equal to the standard
//            engine output for output (tested);
//   uniform  k = the top 53 bits of one output; u = (k + 1/2) / 2^53, so 0 < u < 1 and the grid
//            is symmetric: the draw for k and for 2^53 - 1 - k are exact negatives;
//   normal   z = Phi^-1(u) by Wichura's AS241 (PPND16, Applied Statistics 37(3), 1988: relative
//            error about 1e-16; R's default rnorm is the same inversion), with its logarithm
//            computed here (fdlibm's e_log.c method, under an ulp) instead of by libm, whose
//            last bit differs between C libraries.
//
// One 64-bit output per normal and no rejection, so normal n of a stream is a function of output
// n alone. Only +, -, *, / and sqrt are used, all correctly rounded by IEEE 754, and the library
// is compiled with -ffp-contract=off (no fused multiply-add), hence the same bits everywhere.
//
//   risk::NormalStream s(risk::block_seed(seed, block));
//   std::vector<double> z(500);
//   s.fill(z);                                        // the next 500 normals of the stream
//   double one = risk::normal_from_bits(0x8000'0000'0000'0000);  // the definition, one output
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace nautilus::risk {

// std::mt19937_64's state and twist, 312 outputs at a time.
class Mt19937x64 {
 public:
  static constexpr std::size_t kBlock = 312;
  explicit Mt19937x64(std::uint64_t seed) noexcept;
  // The next 312 outputs, the same as 312 calls of std::mt19937_64(seed).
  void next_block(std::span<std::uint64_t, kBlock> out) noexcept;

 private:
  std::array<std::uint64_t, kBlock> state_{};
};

// One generator output to one standard normal variate (the definition above; scalar).
[[nodiscard]] double normal_from_bits(std::uint64_t bits) noexcept;

// The seed of stream `block` of a Monte Carlo run seeded `seed`: the (block + 1)-th output of
// SplitMix64 started at `seed` (Steele, Lea & Flood 2014), which decorrelates nearby seeds and
// block numbers before they reach the Mersenne Twister's linear seeding.
[[nodiscard]] std::uint64_t block_seed(std::uint64_t seed, std::uint64_t block) noexcept;

// Normal variates from one seed, in order; `fill` in any pieces gives the same sequence.
class NormalStream {
 public:
  explicit NormalStream(std::uint64_t seed) noexcept;
  void fill(std::span<double> out) noexcept;

 private:
  void refill() noexcept;

  Mt19937x64 bits_;
  std::array<double, Mt19937x64::kBlock> normals_{};
  std::size_t next_ = Mt19937x64::kBlock;  // first unused entry of normals_
};

}  // namespace nautilus::risk
