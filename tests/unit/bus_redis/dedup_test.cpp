// Dedup (src/bus_redis/dedup.hpp): what the transport's readers take for a message already
// delivered, and what they let through again.
#include "dedup.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "nautilus/core/identifiers.hpp"

namespace nautilus::bus_redis::detail {
namespace {

bus::Envelope message(std::string_view source, std::uint64_t sequence,
                      core::UnixNanos ts_publish = 1'700'000'000'000'000'000) {
  bus::Envelope e;
  e.source = core::EngineId::create(source).value();
  e.sequence = sequence;
  e.ts_publish = ts_publish;
  return e;
}

TEST(Dedup, TakesTheFirstSightingAsNew) {
  Dedup seen(64);
  EXPECT_TRUE(seen.insert("writer-a", message("risk", 1)));
}

TEST(Dedup, TakesAnExactResendAsADuplicate) {
  Dedup seen(64);
  ASSERT_TRUE(seen.insert("writer-a", message("risk", 7)));
  EXPECT_FALSE(seen.insert("writer-a", message("risk", 7)));
  EXPECT_FALSE(seen.insert("writer-a", message("risk", 7)));
}

TEST(Dedup, KeepsApartWritersWithTheSameSourceAndSequence) {
  // Two processes of one engine scaled out under one name: their sequences overlap.
  Dedup seen(64);
  EXPECT_TRUE(seen.insert("writer-a", message("risk", 1)));
  EXPECT_TRUE(seen.insert("writer-b", message("risk", 1)));
  EXPECT_FALSE(seen.insert("writer-a", message("risk", 1)));
  EXPECT_FALSE(seen.insert("writer-b", message("risk", 1)));
}

TEST(Dedup, KeepsApartSourcesOfOneWriter) {
  Dedup seen(64);
  EXPECT_TRUE(seen.insert("host", message("risk", 1)));
  EXPECT_TRUE(seen.insert("host", message("oms", 1)));
  EXPECT_FALSE(seen.insert("host", message("risk", 1)));
  EXPECT_FALSE(seen.insert("host", message("oms", 1)));
}

TEST(Dedup, TakesAnEntryWithoutOriginAsItsOwnWriter) {
  Dedup seen(64);
  EXPECT_TRUE(seen.insert("", message("risk", 1)));
  EXPECT_TRUE(seen.insert("writer-a", message("risk", 1)));
  EXPECT_FALSE(seen.insert("", message("risk", 1)));
}

TEST(Dedup, ForgetsNothingWithinTheWindow) {
  Dedup seen(64);
  for (std::uint64_t s = 1; s <= 64; ++s) ASSERT_TRUE(seen.insert("w", message("risk", s)));
  for (std::uint64_t s = 1; s <= 64; ++s) {
    EXPECT_FALSE(seen.insert("w", message("risk", s))) << "sequence " << s;
  }
}

TEST(Dedup, DeliversAgainAResendMoreThanTheWindowBehind) {
  // Documented: such a duplicate is delivered again, never lost.
  Dedup seen(64);
  ASSERT_TRUE(seen.insert("w", message("risk", 1)));
  ASSERT_TRUE(seen.insert("w", message("risk", 65)));  // 64 ahead: takes sequence 1's place
  EXPECT_TRUE(seen.insert("w", message("risk", 1)));
}

TEST(Dedup, NeverDropsALateMessageItHasNotSeen) {
  Dedup seen(64);
  ASSERT_TRUE(seen.insert("w", message("risk", 65)));
  EXPECT_TRUE(seen.insert("w", message("risk", 1)));  // same slot, another sequence
  EXPECT_TRUE(seen.insert("w", message("risk", 2)));
}

TEST(Dedup, RoundsTheWindowUpToAPowerOfTwo) {
  Dedup seen(100);  // remembers 128
  for (std::uint64_t s = 1; s <= 128; ++s) ASSERT_TRUE(seen.insert("w", message("risk", s)));
  EXPECT_FALSE(seen.insert("w", message("risk", 1)));  // 127 behind: a window of 100 forgets it
  ASSERT_TRUE(seen.insert("w", message("risk", 129)));
  EXPECT_TRUE(seen.insert("w", message("risk", 1)));  // 128 behind: out of the window
}

TEST(Dedup, RemembersAtLeastSixtyFourSequences) {
  Dedup seen(1);
  for (std::uint64_t s = 1; s <= 64; ++s) ASSERT_TRUE(seen.insert("w", message("risk", s)));
  EXPECT_FALSE(seen.insert("w", message("risk", 1)));
}

TEST(Dedup, TakesTheSameSequenceWithAnotherTsPublishAsNew) {
  // A writer that restarted under the same origin numbers its messages from 1 again: its
  // first message is not the old one, and is then the one remembered.
  constexpr core::UnixNanos kBefore = 1'000, kAfterRestart = 2'000;
  Dedup seen(64);
  ASSERT_TRUE(seen.insert("w", message("risk", 1, kBefore)));
  EXPECT_TRUE(seen.insert("w", message("risk", 1, kAfterRestart)));
  EXPECT_FALSE(seen.insert("w", message("risk", 1, kAfterRestart)));
  EXPECT_TRUE(seen.insert("w", message("risk", 1, kBefore)));  // one slot: the old one is gone
}

TEST(Dedup, StartsOverWhenTheTableIsFull) {
  Dedup seen(64);
  const auto writer = [](std::size_t k) { return "writer-" + std::to_string(k); };
  for (std::size_t k = 0; k < Dedup::kMaxRings; ++k) {
    ASSERT_TRUE(seen.insert(writer(k), message("risk", 1)));
  }
  // Full, and everything in it still remembered.
  for (std::size_t k = 0; k < Dedup::kMaxRings; ++k) {
    ASSERT_FALSE(seen.insert(writer(k), message("risk", 1))) << writer(k);
  }
  // One ring more: the table starts over with it, and what it held passes again.
  EXPECT_TRUE(seen.insert("one-more", message("risk", 1)));
  EXPECT_FALSE(seen.insert("one-more", message("risk", 1)));
  EXPECT_TRUE(seen.insert(writer(0), message("risk", 1)));
  EXPECT_TRUE(seen.insert(writer(Dedup::kMaxRings - 1), message("risk", 1)));
}

}  // namespace
}  // namespace nautilus::bus_redis::detail
