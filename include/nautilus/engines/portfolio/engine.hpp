// The portfolio engine (port 8900): the account's books and its paper execution.
//
//   risk.order.<symbol>, risk.modify.<symbol>, risk.cancel.<symbol>   approved by risk; rest in
//                         paper execution (paper_exchange.hpp) and fill against market data
//   market_data.*         every price marks the books; bars (or trades, `fill_on`) fill orders
//
// Publishes order.event.<symbol> (order_accepted, order_filled: partially or filled,
// order_cancelled), portfolio.fill.<symbol> (fill), position.change.<symbol> after each fill,
// and portfolio.update.account (portfolio_snapshot: cash, NAV, exposure, PnL) after each fill
// and at most every `snapshot_interval_ms` on prices. REST: GET /portfolio/account,
// /portfolio/positions, /portfolio/orders, /portfolio/fills?limit=N.
//
//   std::unique_ptr<engine::Engine> e = portfolio::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::portfolio {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::portfolio
