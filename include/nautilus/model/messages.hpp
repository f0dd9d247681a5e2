// Every message type of the platform, in one list: the wire codec, JSON, `nautilus messages`
// and the docs' tables are generated from it. Adding a message type is the struct, its
// BOOST_DESCRIBE_STRUCT, and one entry here (docs/ARCHITECTURE.md walks through it).
//
//   boost::mp11::mp_for_each<boost::mp11::mp_transform<std::add_pointer_t, AllMessages>>(
//       [](auto* p) { using T = std::remove_pointer_t<decltype(p)>; ... });
#pragma once

#include <boost/mp11/list.hpp>
#include <type_traits>

#include "nautilus/model/market_data.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/model/risk.hpp"
#include "nautilus/model/signals.hpp"
#include "nautilus/model/trading.hpp"

namespace nautilus::model {

using AllMessages = boost::mp11::mp_list<
    // market data (the hub)
    QuoteTick, TradeTick, Bar, PriceUpdate, VolumeUpdate,
    // requests to the hub and its answers (model/requests.hpp)
    HistoryRequest, BarHistory, ReferenceRequest, ReferenceData, FilingsRequest, ReferenceHistory,
    UniverseRequest, UniverseMembers, StreamRequest, StreamStatus, RequestFailed,
    // signals
    FeatureUpdate, VpinUpdate, ToxicityAlert, FactorExposures, FactorCalculation, FactorReturns,
    Prediction, ModelTrained,
    // trading
    Signal, TargetPosition, NewOrder, ModifyOrder, CancelOrder, OrderAccepted, OrderDenied,
    OrderFilled, OrderCancelled, OrderModified, OrderModifyRejected, Fill, PositionChange,
    PortfolioSnapshot, PortfolioBooks,
    // risk, margin, performance, health
    RiskMetrics, RiskAlert, MarginUpdate, MarginAlert, PerformanceMetrics, EngineHealth,
    // backtests
    BacktestStatus>;

// Messages that carry arrays travel on the heap (a shared pointer in the Envelope), and so do
// the hub's occasional answers with long text; every other message must fit inline, so the
// hot paths never allocate.
template <class T>
inline constexpr bool kHeapMessage =
    std::is_same_v<T, FeatureUpdate> || std::is_same_v<T, FactorExposures> ||
    std::is_same_v<T, FactorCalculation> || std::is_same_v<T, FactorReturns> ||
    std::is_same_v<T, BarHistory> || std::is_same_v<T, ReferenceData> ||
    std::is_same_v<T, ReferenceHistory> || std::is_same_v<T, UniverseMembers> ||
    std::is_same_v<T, RequestFailed> || std::is_same_v<T, PortfolioBooks>;

}  // namespace nautilus::model
