// Topics and patterns. Topics are dotted names ("market_data.AAPL.trade"); patterns add `*`
// (any run of characters, dots included) and `?` (exactly one character); "ALL" means "*".
//
//   is_matching("market_data.AAPL.trade", "market_data.*")  // true
//   is_matching("vpin.AAPL", "vpin.????")                   // true
//   auto t = Topic::create("risk.alert.AAPL");              // validated, interned
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::bus {

inline constexpr std::size_t kMaxTopicLength = 256;

struct TopicTag {
  static constexpr std::string_view kWhat = "topic";
  static constexpr std::size_t kMaxLength = kMaxTopicLength;
};
// A concrete topic name: validated ([A-Za-z0-9_.:/^=#@+-], no wildcards) and interned.
using Topic = core::Identifier<TopicTag>;

// Wildcard match of a concrete topic against a pattern; linear in the usual case.
[[nodiscard]] bool is_matching(std::string_view topic, std::string_view pattern) noexcept;

// A pattern is a topic that may also contain `*` and `?`. Returns the normalised pattern
// ("ALL" -> "*").
[[nodiscard]] core::Result<std::string> normalize_pattern(std::string_view pattern);

// The family a topic's metrics are counted under: its first dotted segment
// ("market_data.AAPL.trade" -> "market_data").
[[nodiscard]] std::string_view topic_family(std::string_view topic) noexcept;

}  // namespace nautilus::bus
