// The ml engine (port 8400): per symbol, a model of the forward return over `horizon` bars from
// the features engine's feature vectors (`feature.update.<symbol>`).
//
//   ridge / logistic  trained walk-forward (walk_forward.hpp) on the symbol's own samples: the
//                     target of the features at bar k is the sum of the next `horizon` bars'
//                     log returns (logistic: whether it is positive), known at bar k + horizon
//   xgboost           a model file trained offline (xgboost_model.hpp), scored as it is
//
// Publishes `ml.prediction.<symbol>` (prediction) for every feature vector with all its features
// once a model exists, and `model.training.complete.<model>` (model_trained: the window and its
// out-of-sample metrics) after each training. REST: GET /ml/models, GET /ml/predictions/{symbol}.
//
//   const auto& info = ml::engine_info();
//   std::unique_ptr<engine::Engine> e = ml::make_engine();
#pragma once

#include <memory>

#include "nautilus/engine/engine.hpp"

namespace nautilus::ml {

[[nodiscard]] const engine::EngineInfo& engine_info();
[[nodiscard]] std::unique_ptr<engine::Engine> make_engine();

}  // namespace nautilus::ml
