// Envelope: the header every message carries on the bus (docs/WIRE_FORMAT.md) around its typed
// payload. Built by the Publisher at publish time and immutable afterwards: handlers receive it by
// const reference, and on the wire it is encoded by bus_codec.
//
//   void on_quote(const Envelope& env) {
//     const auto* q = env.get<QuoteTick>();
//     latency = clock.now() - env.ts_publish;
//   }
#pragma once

#include <cstdint>
#include <type_traits>

#include "nautilus/bus/payload.hpp"
#include "nautilus/bus/priority.hpp"
#include "nautilus/bus/topic.hpp"
#include "nautilus/core/clock.hpp"
#include "nautilus/core/identifiers.hpp"

namespace nautilus::bus {

using CorrelationId = std::uint64_t;  // 0 = none

struct Envelope {
  Topic topic;
  core::EngineId source;           // the publishing engine
  std::uint64_t sequence = 0;      // per source, from 1, gap-free per Publisher
  core::UnixNanos ts_event = 0;    // when the event happened (source time)
  core::UnixNanos ts_publish = 0;  // when it entered the bus
  CorrelationId correlation_id = 0;
  Topic reply_to;  // endpoint for the response of a request, else empty
  Priority priority = Priority::kNormal;
  // Sent to an endpoint (a request or a reply), not published on a topic: a transport
  // delivers it to the endpoint of that name on the other side.
  bool endpoint = false;
  // Set by a transport on messages it brought in from another process, so that no transport
  // exports them again. Local metadata: not part of the wire format.
  bool remote = false;
  Payload payload;

  template <class T>
  [[nodiscard]] const T* get() const noexcept {
    return payload.get<T>();
  }
  [[nodiscard]] std::string_view type_name() const noexcept { return payload.type_name(); }
};

static_assert(std::is_nothrow_move_constructible_v<Envelope>);
static_assert(std::is_nothrow_copy_constructible_v<Envelope>);

}  // namespace nautilus::bus
