// The portfolio engine's state as one JSON text, for the state store (engine/state_store.hpp):
// the books (accounting::AccountState), the paper exchange's open orders and trade numbering,
// and the execution events of the last batch (acceptances, modifies, cancels, order states and
// fills), saved before they are published so that a restart publishes them again rather than
// lose them (fills carry trade ids, so every reader drops what it already applied; the order
// events restate what the readers already know). Money and quantities are their raw integers:
// the restore is exact.
//
//   std::string text = portfolio::encode_state(state);
//   auto back = portfolio::decode_state(text);   // kParse naming what is wrong
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nautilus/accounting/account.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/engines/portfolio/paper_exchange.hpp"

namespace nautilus::portfolio {

struct PortfolioState {
  accounting::AccountState books;
  ExchangeState exchange;
  std::vector<ExecutionEvent> unpublished;
};

[[nodiscard]] std::string encode_state(const PortfolioState& s);
[[nodiscard]] core::Result<PortfolioState> decode_state(std::string_view text);

}  // namespace nautilus::portfolio
