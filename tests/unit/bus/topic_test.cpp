#include "nautilus/bus/topic.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>

namespace nautilus::bus {
namespace {

// Reference semantics (docs/ARCHITECTURE.md, as NautilusTrader's is_matching): `*` any run of
// characters including dots, `?` exactly one character, everything else literal.
bool reference_match(const std::string& topic, const std::string& pattern) {
  std::string re;
  for (char c : pattern) {
    if (c == '*')
      re += ".*";
    else if (c == '?')
      re += ".";
    else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_')
      re += c;
    else {
      re += '\\';
      re += c;
    }
  }
  return std::regex_match(topic, std::regex(re));
}

TEST(TopicMatching, HandWorkedCases) {
  struct Case {
    const char* topic;
    const char* pattern;
    bool match;
  };
  const Case cases[] = {
      {"a", "*", true},
      {"a", "a", true},
      {"a", "b", false},
      {"market_data.AAPL.trade", "market_data.*", true},
      {"market_data.AAPL.trade", "market_data.*.trade", true},
      {"market_data.AAPL.quote", "market_data.*.trade", false},
      {"market_data", "market_data.*", false},
      {"vpin.AAPL", "vpin.????", true},
      {"vpin.MSFT1", "vpin.????", false},
      {"a.b", "a?b", true},  // `?` matches a dot too
      {"data.quotes.BINANCE", "data.?uotes.*", true},
      {"data.quotes", "data.?uotes.*", false},
      {"abcabc", "*abc", true},
      {"ab", "a*c", false},
      {"risk.alert.AAPL", "*.alert.*", true},
      {"risk.alert", "*.alert.*", false},
      {"x", "x*", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_matching(c.topic, c.pattern), c.match) << c.topic << " ~ " << c.pattern;
    EXPECT_EQ(reference_match(c.topic, c.pattern), c.match) << "reference disagrees";
  }
}

TEST(TopicMatching, AgreesWithRegexReferenceOnGeneratedCases) {
  std::mt19937 rng(42);
  const std::string alphabet = "ab.";
  auto gen = [&](std::size_t max_len, bool wild) {
    std::string s;
    const std::size_t n = rng() % (max_len + 1);
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned r = rng() % (wild ? 5 : 3);
      s += r < 3 ? alphabet[r] : (r == 3 ? '*' : '?');
    }
    return s;
  };
  for (int i = 0; i < 20000; ++i) {
    const std::string topic = gen(10, false);
    const std::string pattern = gen(7, true);
    ASSERT_EQ(is_matching(topic, pattern), reference_match(topic, pattern))
        << "topic '" << topic << "' pattern '" << pattern << "'";
  }
}

TEST(TopicPatterns, NormalizesAndValidates) {
  EXPECT_EQ(*normalize_pattern("ALL"), "*");
  EXPECT_EQ(*normalize_pattern("a.**.b"), "a.*.b");
  EXPECT_EQ(*normalize_pattern("risk.?"), "risk.?");
  EXPECT_FALSE(normalize_pattern(""));
  EXPECT_FALSE(normalize_pattern("a b"));
  EXPECT_FALSE(normalize_pattern(std::string(257, 'a')));
  EXPECT_FALSE(Topic::create("market_data.*"));  // a topic is concrete
  EXPECT_TRUE(Topic::create("market_data.AAPL.trade"));
  EXPECT_EQ(topic_family("market_data.AAPL.trade"), "market_data");
  EXPECT_EQ(topic_family("heartbeat"), "heartbeat");
}

}  // namespace
}  // namespace nautilus::bus
