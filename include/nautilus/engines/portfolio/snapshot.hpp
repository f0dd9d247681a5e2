// The portfolio engine's state as one JSON text, for the state store (engine/state_store.hpp):
// the books (accounting::AccountState), the paper exchange's open orders and trade numbering,
// and the fills of the last batch, saved before they are published so that a restart
// publishes them again (their trade ids let every reader drop what it already applied) rather
// than lose them. Money and quantities are their raw integers: the restore is exact.
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
  std::vector<model::Fill> unpublished;
};

[[nodiscard]] std::string encode_state(const PortfolioState& s);
[[nodiscard]] core::Result<PortfolioState> decode_state(std::string_view text);

}  // namespace nautilus::portfolio
