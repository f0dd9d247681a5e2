// Not an API: the argument checks var.cpp and var_monte_carlo.cpp share, so that every VaR
// function rejects the same inputs with the same words. Use var.hpp.
#pragma once

#include <cstddef>
#include <span>

#include "nautilus/core/error.hpp"
#include "nautilus/engines/risk/var.hpp"

namespace nautilus::risk::detail {

// 0.5 < confidence < 1.
[[nodiscard]] core::Result<void> check_confidence(double confidence);
// One finite position per instrument, and at least one instrument.
[[nodiscard]] core::Result<void> check_positions(std::span<const double> positions,
                                                 std::size_t instruments);
// The panel's shape (at least 2 days) and every return finite.
[[nodiscard]] core::Result<void> check_panel(const ReturnsPanel& returns);
// Sizes, finite values, a non-negative diagonal, symmetry to 1e-10 of the largest diagonal.
[[nodiscard]] core::Result<void> check_model(const NormalModel& model);

}  // namespace nautilus::risk::detail
