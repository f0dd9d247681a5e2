// A WebSocket client's control messages (docs/ENGINES.md, websocket): JSON objects such as
//
//   {"op": "subscribe", "topics": ["market_data.*.bar", "vpin.calculation.*"], "id": "1"}
//   {"op": "unsubscribe", "topics": ["vpin.calculation.*"]}
//   {"op": "list"}     // the client's patterns
//   {"op": "ping"}     // answered with a pong (browsers cannot send WebSocket pings)
//
// parse_control() never throws: anything else is a ControlError whose `kind` is the /metrics
// label and whose `message` goes back to the client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace nautilus::websocket {

struct ControlMessage {
  enum class Op : std::uint8_t { kSubscribe, kUnsubscribe, kList, kPing };
  Op op = Op::kPing;
  std::vector<std::string> patterns;  // normalised (bus::normalize_pattern)
  std::string id;                     // the client's own tag, echoed in the answer
};

struct ControlError {
  std::string kind;  // malformed | unknown_op | bad_pattern | too_many
  std::string message;
};

[[nodiscard]] std::expected<ControlMessage, ControlError> parse_control(std::string_view text,
                                                                        std::size_t max_patterns);

[[nodiscard]] std::string_view to_string(ControlMessage::Op op) noexcept;

}  // namespace nautilus::websocket
