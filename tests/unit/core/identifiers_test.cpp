#include "nautilus/core/identifiers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace nautilus::core {
namespace {

TEST(Identifier, EqualNamesShareOnePointer) {
  auto a = Symbol::create("BRK.B");
  auto b = Symbol::create(std::string("BRK") + ".B");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->data(), b->data());
  EXPECT_EQ(a->value(), "BRK.B");
  EXPECT_FALSE(*a == Symbol::from_trusted("AAPL"));
  EXPECT_TRUE(Symbol().empty());
}

TEST(Identifier, RejectsBadNames) {
  EXPECT_FALSE(EngineId::create(""));
  EXPECT_FALSE(EngineId::create("has space"));
  EXPECT_FALSE(EngineId::create("quote\"d"));
  EXPECT_FALSE(EngineId::create(std::string(65, 'a')));
  EXPECT_TRUE(EngineId::create(std::string(64, 'a')));
  EXPECT_TRUE(Symbol::create("EUR/USD"));
  EXPECT_TRUE(Symbol::create("^GSPC"));
}

TEST(Identifier, InterningIsThreadSafe) {
  std::vector<std::thread> threads;
  std::vector<const char*> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &seen] {
      for (int i = 0; i < 2000; ++i) (void)intern("sym" + std::to_string(i));
      seen[t] = intern("shared.name")->data();
    });
  }
  for (auto& th : threads) th.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
}

TEST(Identifier, InternPoolIsBoundedAndSaysSo) {
  // Fill the pool to its cap (runs in its own test process under ctest), then one more.
  ASSERT_TRUE(Symbol::create("BRK.B"));
  for (std::size_t i = interned_count(); i < kMaxInternedStrings; ++i) {
    ASSERT_TRUE(intern("fill." + std::to_string(i)));
  }
  auto existing = Symbol::create("BRK.B");  // already interned: still fine
  EXPECT_TRUE(existing);
  auto r = Symbol::create("one.too.many");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCapacity);
  EXPECT_NE(r.error().message.find("one.too.many"), std::string::npos);
}

}  // namespace
}  // namespace nautilus::core
