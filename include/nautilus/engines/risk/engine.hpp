// The risk engine (port 8200): every order on its way to execution passes here.
//
//   order.new.<symbol>, order.modify.<symbol>  checked by the pre-trade gate (pretrade.hpp);
//                                              passed on as risk.order.<symbol> and
//                                              risk.modify.<symbol>, or denied with a reason on
//                                              order.event.<symbol> (order_denied)
//   order.cancel.<symbol>                      always passed on, as risk.cancel.<symbol>
//   portfolio.fill.*, market_data.*            the books the checks read (positions, prices)
//   portfolio.update.account                   drawdown from the NAV's high-water mark and the
//                                              day's loss: past a limit the trading state moves
//                                              to REDUCING or HALTED by itself (risk.alert.*)
//
// REST: GET /risk/limits, PUT /risk/limits (a JSON object of limits), GET /risk/state,
// POST /risk/state ({"state": "active"}), POST /risk/kill (halt and cancel every open order),
// GET /risk/orders. Mutating routes need the API token when one is set.
//
//   std::unique_ptr<engine::Engine> e = risk::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::risk {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::risk
