// The websocket engine (port 8600): the bus streamed to browsers and programs over WebSocket at
// ws://host:8600/ws, and the live dashboard at http://host:8600/. Clients choose topic patterns
// with JSON control messages (src/engines/websocket/control.hpp), get each topic's latest value
// when they subscribe, and receive JSON lines or MessagePack (the wire format of
// docs/WIRE_FORMAT.md), chosen per connection by sub-protocol or ?format=. A slow client's
// frames are conflated (the latest per topic) and a client too far behind is disconnected with
// the reason, so none can stall the bus or the others. REST: GET /websocket/clients.
//
//   std::unique_ptr<engine::Engine> e = websocket::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::websocket {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::websocket
