// How a record becomes bus messages: the hub's one publishing path, shared by every source
// (replay, synthetic, live streams). Each producing thread has its own Outlet (a Publisher
// belongs to one thread, and so do its topic handles), and each Outlet its source's quality
// filter; the per-symbol state behind /marketdata/symbols and /marketdata/latest is shared.
// Private to the marketdata engine.
//
//   Distributor d(bus);
//   Outlet* out = d.outlet(std::move(publisher), "binance", quality_settings, /*live=*/true);
//   out->publish(record);   // quality check, state, then bar/trade/quote + price/volume
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/net/http.hpp"
#include "quality.hpp"

namespace nautilus::marketdata {

class Distributor;

class Outlet {
 public:
  // True when published; false when the quality filter dropped it or the symbol is not a
  // valid topic token (counted as a source error).
  bool publish(const Record& r);
  [[nodiscard]] const QualityFilter& quality() const noexcept { return quality_; }

 private:
  friend class Distributor;
  struct SymbolTopics {
    bus::TopicHandle bar, trade, quote, price, volume;
  };
  Outlet(Distributor& d, bus::Publisher pub, std::string source, QualitySettings q, bool live);
  SymbolTopics* topics_for(core::Symbol s);

  Distributor& d_;
  bus::Publisher pub_;
  QualityFilter quality_;
  std::unordered_map<core::Symbol, SymbolTopics> topics_;  // interned: a pointer hash
};

class Distributor {
 public:
  explicit Distributor(bus::MessageBus& bus) : bus_(bus) {}

  // The Distributor keeps it (for /metrics) until it is destroyed itself.
  Outlet* outlet(bus::Publisher pub, std::string source, QualitySettings q, bool live);

  [[nodiscard]] net::Response symbols_json() const;
  [[nodiscard]] net::Response latest_json(std::string_view symbol) const;
  [[nodiscard]] std::size_t symbol_count() const;
  [[nodiscard]] std::uint64_t published() const noexcept { return published_.load(); }
  [[nodiscard]] std::uint64_t errors() const noexcept { return errors_.load(); }
  // nautilus_marketdata_quality_total over every outlet made so far.
  void add_quality_metrics(net::PrometheusText& p) const;

 private:
  friend class Outlet;
  struct SymbolState {
    core::Price last_price;
    core::UnixNanos last_ts = 0;
    std::optional<model::Bar> last_bar;
    double session_volume = 0;
    std::int64_t session_day = -1;
    std::uint64_t bars = 0, trades = 0, quotes = 0;
  };
  // Updates the symbol's state for `r`; returns its session volume after it.
  double update(const Record& r);

  bus::MessageBus& bus_;
  mutable std::mutex mu_;
  std::map<std::string, SymbolState, std::less<>> symbols_;  // by name: the REST lists
  // The same states by interned symbol (map nodes do not move): a pointer hash per record
  // rather than a walk of string compares down the map.
  std::unordered_map<core::Symbol, SymbolState*> by_symbol_;
  std::vector<std::unique_ptr<Outlet>> outlets_;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace nautilus::marketdata
