// Merges several time-ordered CSV files (bars, trades, quotes) into one time-ordered stream.
//
//   auto r = marketdata::ReplaySource::open({"bars_1m.csv.gz", "trades.csv.gz"});
//   while (true) { auto rec = r->next(); if (!rec || !*rec) break; ... }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nautilus/marketdata/csv.hpp"

namespace nautilus::marketdata {

class ReplaySource {
 public:
  [[nodiscard]] static core::Result<ReplaySource> open(const std::vector<std::string>& paths);
  // The earliest pending record of all files; nullopt when all are done.
  [[nodiscard]] core::Result<std::optional<Record>> next();

 private:
  struct Input {
    CsvReader reader;
    std::optional<Record> head;
  };
  explicit ReplaySource(std::vector<Input> inputs) : inputs_(std::move(inputs)) {}
  std::vector<Input> inputs_;
};

}  // namespace nautilus::marketdata
