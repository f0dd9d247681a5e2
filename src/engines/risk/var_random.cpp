// The Monte Carlo stream (var_random.hpp). Everything here must give the same bits on every
// platform: integer arithmetic, and floating-point +, -, *, /, sqrt in a written order (this
// target is compiled with -ffp-contract=off). The block transform is written as plain loops over
// arrays with no calls and no branches, so that GCC and Clang vectorise them (SSE2 at the
// baseline x86-64 level); vector and scalar code round the same way.
#include "nautilus/engines/risk/var_random.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nautilus::risk {
namespace {

constexpr std::size_t kN = Mt19937x64::kBlock;
constexpr std::size_t kM = 156;
constexpr std::uint64_t kMatrixA = 0xB5026F5AA96619E9ULL;
constexpr std::uint64_t kUpper = 0xFFFFFFFF80000000ULL;  // the top w - r = 33 bits
constexpr std::uint64_t kLower = 0x000000007FFFFFFFULL;
constexpr std::uint64_t kMantissa = 0x000FFFFFFFFFFFFFULL;

inline std::uint64_t twist(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t y = (a & kUpper) | (b & kLower);
  // (y & 1) ? A : 0, without a branch.
  return (y >> 1) ^ ((0 - (y & 1)) & kMatrixA);
}

// |u - 1/2| for output x: with k = x >> 11 (53 bits), u - 1/2 = (k - 2^52 + 1/2) / 2^53. The top
// bit of k is the sign (set: u > 1/2) and the other 52 bits m give |u - 1/2| = (m' + 1/2) / 2^53,
// m' = m when the sign bit is set and 2^52 - 1 - m when not. (m' + 1/2) is formed exactly from
// the bits of the double 2^52 + m' (no integer-to-double conversion, which SSE2 cannot
// vectorise for 64-bit integers), and every step is exact.
inline double half_distance(std::uint64_t x) {
  const std::uint64_t k = x >> 11;
  const std::uint64_t above = k >> 52;
  const std::uint64_t m = (k & kMantissa) ^ ((above - 1) & kMantissa);
  return (std::bit_cast<double>(0x4330000000000000ULL | m) - 4503599627370495.5) * 0x1p-53;
}

// The sign of u - 1/2 onto a non-negative v.
inline double with_sign(double v, std::uint64_t x) {
  return std::bit_cast<double>(std::bit_cast<std::uint64_t>(v) | ((~x >> 63) << 63));
}

// c[0] + c[1] x + ... + c[7] x^7 by Horner's rule, highest coefficient first (the order AS241
// writes it in, so the rounding is the published algorithm's).
inline double horner(const std::array<double, 8>& c, double x) {
  double s = c[7];
  for (std::size_t i = 7; i-- > 0;) s = s * x + c[i];
  return s;
}

// AS241's coefficients (PPND16), lowest power first.
constexpr std::array<double, 8> kA = {3.3871328727963666080e0,  1.3314166789178437745e+2,
                                      1.9715909503065514427e+3, 1.3731693765509461125e+4,
                                      4.5921953931549871457e+4, 6.7265770927008700853e+4,
                                      3.3430575583588128105e+4, 2.5090809287301226727e+3};
constexpr std::array<double, 8> kB = {1.0,
                                      4.2313330701600911252e+1,
                                      6.8718700749205790830e+2,
                                      5.3941960214247511077e+3,
                                      2.1213794301586595867e+4,
                                      3.9307895800092710610e+4,
                                      2.8729085735721942674e+4,
                                      5.2264952788528545610e+3};
constexpr std::array<double, 8> kC = {1.42343711074968357734e0,  4.63033784615654529590e0,
                                      5.76949722146069140550e0,  3.64784832476320460504e0,
                                      1.27045825245236838258e0,  2.41780725177450611770e-1,
                                      2.27238449892691845833e-2, 7.74545014278341407640e-4};
constexpr std::array<double, 8> kD = {1.0,
                                      2.05319162663775882187e0,
                                      1.67638483018380384940e0,
                                      6.89767334985100004550e-1,
                                      1.48103976427480074590e-1,
                                      1.51986665636164571966e-2,
                                      5.47593808499534494600e-4,
                                      1.05075007164441684324e-9};
constexpr std::array<double, 8> kE = {6.65790464350110377720e0,  5.46378491116411436990e0,
                                      1.78482653991729133580e0,  2.96560571828504891230e-1,
                                      2.65321895265761230930e-2, 1.24266094738807843860e-3,
                                      2.71155556874348757815e-5, 2.01033439929228813265e-7};
constexpr std::array<double, 8> kF = {1.0,
                                      5.99832206555887937690e-1,
                                      1.36929880922735805310e-1,
                                      1.48753612908506148525e-2,
                                      7.86869131145613259100e-4,
                                      1.84631831751005468180e-5,
                                      1.42151175831644588870e-7,
                                      2.04426310338993978564e-15};

// AS241 for |q| <= 0.425, on a = |q|: a A(r) / B(r), r = 0.180625 - q^2.
inline double central(double a) {
  const double r = 0.180625 - a * a;
  return a * horner(kA, r) / horner(kB, r);
}

// log(x) for a positive normal double, fdlibm's e_log.c method: x = 2^k (1 + f) with
// 1 + f in [sqrt(2)/2, sqrt(2)), log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f).
// Branch-free: the reduction into [sqrt(2)/2, sqrt(2)) is done on the bits (0x95f64 is
// 0x100000 - 0x6a09c, the leading mantissa bits of sqrt(2), as in fdlibm), and k goes to a
// double through the bits of 2^52 + biased exponent.
inline double log_positive(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
  constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3dea39ef35793c76
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                   kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                   kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  const std::uint64_t mant = bits & kMantissa;
  // 1 << 52 when the mantissa is at least sqrt(2)'s: halve it and count one more power of two.
  const std::uint64_t up = (mant + 0x95f6400000000ULL) & 0x0010000000000000ULL;
  const double m = std::bit_cast<double>(mant | (up ^ 0x3ff0000000000000ULL));
  const std::uint64_t biased = (bits >> 52) + (up >> 52);
  const double k =
      (std::bit_cast<double>(0x4330000000000000ULL | biased) - 4503599627370496.0) - 1023.0;
  const double f = m - 1.0;
  const double hfsq = 0.5 * f * f;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  return k * kLn2Hi - ((hfsq - (s * (hfsq + (t2 + t1)) + k * kLn2Lo)) - f);
}

// AS241 for |q| > 0.425 with r = sqrt(-log(t)), t = 1/2 - |q| = min(u, 1 - u): C / D in
// r - 1.6 for r <= 5 (t >= exp(-25)), E / F in r - 5 beyond (about one normal in 3.6e10).
inline double tail_near(double r) { return horner(kC, r - 1.6) / horner(kD, r - 1.6); }
inline double tail_far(double r) { return horner(kE, r - 5.0) / horner(kF, r - 5.0); }

constexpr double kCentral = 0.425;

// The tail value of t = 1/2 - |q| > 0: r = sqrt(-log t). r > 5 exactly when t < exp(-25);
// comparing r itself keeps the scalar and block paths on one rule.
inline double tail(double t) {
  const double r = std::sqrt(-log_positive(t));
  return r <= 5.0 ? tail_near(r) : tail_far(r);
}

// 312 outputs to 312 normals: the central formula for all (vectorised), then the tails (15% of
// draws) gathered, transformed in a vectorised loop, and scattered back.
void transform_block(const std::uint64_t* x, double* z) {
  for (std::size_t i = 0; i < kN; ++i) z[i] = with_sign(central(half_distance(x[i])), x[i]);
  std::array<std::uint32_t, kN> index{};
  std::size_t tails = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    index[tails] = static_cast<std::uint32_t>(i);
    tails += half_distance(x[i]) > kCentral ? 1 : 0;
  }
  std::array<double, kN> r{};
  for (std::size_t j = 0; j < tails; ++j) r[j] = 0.5 - half_distance(x[index[j]]);
  for (std::size_t j = 0; j < tails; ++j) r[j] = std::sqrt(-log_positive(r[j]));
  std::array<double, kN> v{};
  for (std::size_t j = 0; j < tails; ++j) v[j] = tail_near(r[j]);
  for (std::size_t j = 0; j < tails; ++j) {
    const std::uint32_t i = index[j];
    z[i] = with_sign(r[j] <= 5.0 ? v[j] : tail_far(r[j]), x[i]);
  }
}

}  // namespace

Mt19937x64::Mt19937x64(std::uint64_t seed) noexcept {
  // [rand.eng.mers]: x_i = f (x_{i-1} xor (x_{i-1} >> (w - 2))) + i, f = 6364136223846793005.
  state_[0] = seed;
  for (std::size_t i = 1; i < kN; ++i) {
    state_[i] = 6364136223846793005ULL * (state_[i - 1] ^ (state_[i - 1] >> 62)) + i;
  }
}

void Mt19937x64::next_block(std::span<std::uint64_t, kBlock> out) noexcept {
  std::uint64_t* s = state_.data();
  // The twist in three runs so that each reads only values of one generation: x[i + 1] not yet
  // overwritten, x[i + m] old in the first run and new (written 156 places earlier) in the second.
  for (std::size_t i = 0; i < kN - kM; ++i) s[i] = s[i + kM] ^ twist(s[i], s[i + 1]);
  for (std::size_t i = kN - kM; i < kN - 1; ++i) s[i] = s[i + kM - kN] ^ twist(s[i], s[i + 1]);
  s[kN - 1] = s[kM - 1] ^ twist(s[kN - 1], s[0]);
  for (std::size_t i = 0; i < kN; ++i) {
    std::uint64_t y = s[i];
    y ^= (y >> 29) & 0x5555555555555555ULL;
    y ^= (y << 17) & 0x71D67FFFEDA60000ULL;
    y ^= (y << 37) & 0xFFF7EEE000000000ULL;
    y ^= y >> 43;
    out[i] = y;
  }
}

double normal_from_bits(std::uint64_t bits) noexcept {
  const double a = half_distance(bits);
  return with_sign(a <= kCentral ? central(a) : tail(0.5 - a), bits);
}

std::uint64_t block_seed(std::uint64_t seed, std::uint64_t block) noexcept {
  std::uint64_t z = seed + (block + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

NormalStream::NormalStream(std::uint64_t seed) noexcept : bits_(seed) {}

void NormalStream::refill() noexcept {
  std::array<std::uint64_t, kN> x{};
  bits_.next_block(x);
  transform_block(x.data(), normals_.data());
  next_ = 0;
}

void NormalStream::fill(std::span<double> out) noexcept {
  std::size_t done = 0;
  while (done < out.size()) {
    if (next_ == kN) {
      // Whole blocks straight into the output, skipping the copy.
      if (out.size() - done >= kN) {
        std::array<std::uint64_t, kN> x{};
        bits_.next_block(x);
        transform_block(x.data(), out.data() + done);
        done += kN;
        continue;
      }
      refill();
    }
    const std::size_t take = std::min(kN - next_, out.size() - done);
    for (std::size_t i = 0; i < take; ++i) out[done + i] = normals_[next_ + i];
    next_ += take;
    done += take;
  }
}

}  // namespace nautilus::risk
