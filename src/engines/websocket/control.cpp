#include "control.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "nautilus/bus/topic.hpp"

namespace nautilus::websocket {
namespace json = boost::json;

namespace {

std::unexpected<ControlError> error(std::string kind, std::string message) {
  return std::unexpected(ControlError{std::move(kind), std::move(message)});
}

}  // namespace

std::string_view to_string(ControlMessage::Op op) noexcept {
  switch (op) {
    case ControlMessage::Op::kSubscribe:
      return "subscribe";
    case ControlMessage::Op::kUnsubscribe:
      return "unsubscribe";
    case ControlMessage::Op::kList:
      return "list";
    case ControlMessage::Op::kPing:
      return "ping";
  }
  return "?";
}

std::expected<ControlMessage, ControlError> parse_control(std::string_view text,
                                                          std::size_t max_patterns) {
  boost::system::error_code ec;
  // Control messages are small: a shallow depth limit keeps a nested bomb cheap to refuse.
  json::parse_options po;
  po.max_depth = 8;
  json::value v = json::parse(text, ec, {}, po);
  if (ec) return error("malformed", fmt::format("malformed control message: {}", ec.message()));
  const auto* o = v.if_object();
  if (o == nullptr) return error("malformed", "a control message is a JSON object");
  ControlMessage m;
  if (const auto* id = o->if_contains("id")) {
    if (const auto* s = id->if_string()) {
      m.id = std::string(s->data(), std::min<std::size_t>(s->size(), 64));
    } else if (id->is_int64() || id->is_uint64()) {
      m.id = json::serialize(*id);
    } else {
      return error("malformed", "\"id\" must be a string or an integer");
    }
  }
  const auto* op = o->if_contains("op");
  const auto* op_text = op != nullptr ? op->if_string() : nullptr;
  if (op_text == nullptr) {
    return error("malformed",
                 "a control message needs \"op\": subscribe, unsubscribe, list or ping");
  }
  if (*op_text == "subscribe") {
    m.op = ControlMessage::Op::kSubscribe;
  } else if (*op_text == "unsubscribe") {
    m.op = ControlMessage::Op::kUnsubscribe;
  } else if (*op_text == "list") {
    m.op = ControlMessage::Op::kList;
    return m;
  } else if (*op_text == "ping") {
    m.op = ControlMessage::Op::kPing;
    return m;
  } else {
    return error(
        "unknown_op",
        fmt::format("unknown op '{}': subscribe, unsubscribe, list or ping",
                    std::string_view(op_text->data(), std::min<std::size_t>(op_text->size(), 40))));
  }
  const auto* topics = o->if_contains("topics");
  const auto* list = topics != nullptr ? topics->if_array() : nullptr;
  if (list == nullptr || list->empty()) {
    return error(
        "malformed",
        fmt::format("{} needs \"topics\": a non-empty array of topic patterns", to_string(m.op)));
  }
  if (list->size() > max_patterns) {
    return error("too_many",
                 fmt::format("{} patterns in one message: at most {}", list->size(), max_patterns));
  }
  for (const auto& t : *list) {
    const auto* s = t.if_string();
    if (s == nullptr) return error("malformed", "each of \"topics\" is a string");
    auto p = bus::normalize_pattern(std::string_view(s->data(), s->size()));
    if (!p) return error("bad_pattern", p.error().message);
    m.patterns.push_back(std::move(*p));
  }
  return m;
}

}  // namespace nautilus::websocket
