#include "nautilus/engines/toraniko/factor_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <unordered_map>

#include "nautilus/factor_core/styles.hpp"

namespace nautilus::toraniko {
namespace {

// toraniko's style scores (factor_core: the research universe's generator draws on them too).
using factor_core::kMomentumHistory;
using factor_core::kMomentumLag;
using factor_core::kMomentumWindow;
using factor_core::momentum_raw;
using factor_core::momentum_scores;
using factor_core::size_scores;
using factor_core::value_scores;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct SymbolState {
  std::string name;
  // The symbol's own returns, oldest first (NaN where a row had none): momentum reads the 504
  // ending 20 rows back. Trimmed to the last kMomentumHistory now and then.
  std::vector<double> returns;
  bool has_last = false;  // a previous row exists
  double last_cap = kNaN;
  std::uint16_t last_sector = 0;
  double last_scores[3] = {kNaN, kNaN, kNaN};  // mom, sze, val of the previous row
};

}  // namespace

struct FactorModel::State {
  FactorModelConfig config;
  std::vector<std::string> factor_names;
  std::vector<std::string> style_names;
  std::unordered_map<std::string, std::uint32_t> index;
  std::deque<SymbolState> symbols;  // a deque: names stay put, so DatedFit can view them
  std::string last_date;
  std::vector<std::uint32_t> last_rows;  // symbols of the last date, sorted
  std::vector<double> last_given;        // their given styles, last_rows order, k each
  std::uint64_t fitted = 0;
  std::uint64_t skipped = 0;
  std::uint64_t left_out = 0;
  Estimator estimator;
  // One date's scratch.
  std::vector<const Row*> sorted;
  std::vector<std::uint32_t> ids;
  std::vector<double> x_ret;
  std::vector<double> x_cap;
  std::vector<std::uint16_t> x_sector;
  std::vector<double> x_styles;
  std::vector<std::string_view> x_symbols;
  std::vector<double> a;
  std::vector<double> b;
  std::vector<double> c;
  std::vector<std::size_t> members;

  [[nodiscard]] std::size_t style_count() const { return style_names.size(); }
  [[nodiscard]] bool given() const { return !config.given_styles.empty(); }

  void clear_section() {
    x_ret.clear();
    x_cap.clear();
    x_sector.clear();
    x_styles.clear();
    x_symbols.clear();
  }

  std::uint32_t id_of(std::string_view symbol) {
    auto it = index.find(std::string(symbol));
    if (it != index.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(symbols.size());
    symbols.push_back(SymbolState{.name = std::string(symbol)});
    index.emplace(std::string(symbol), id);
    return id;
  }

  // Today's scores of the cross-section, stored as each symbol's "previous row" for tomorrow.
  void update_scores() {
    const std::size_t n = sorted.size();
    // Size over the rows with a market cap.
    members.clear();
    a.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isfinite(sorted[i]->market_cap)) {
        members.push_back(i);
        a.push_back(sorted[i]->market_cap);
      }
    }
    for (std::size_t i = 0; i < n; ++i) symbols[ids[i]].last_scores[1] = kNaN;
    const auto sze = size_scores(a);
    for (std::size_t k = 0; k < members.size(); ++k)
      symbols[ids[members[k]]].last_scores[1] = sze[k];

    // Value over the rows with positive book and sales ratios and a cash-flow ratio.
    for (std::size_t i = 0; i < n; ++i) symbols[ids[i]].last_scores[2] = kNaN;
    if (config.value) {
      members.clear();
      a.clear();
      b.clear();
      c.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const Row& r = *sorted[i];
        if (r.book_price > 0 && r.sales_price > 0 && std::isfinite(r.book_price) &&
            std::isfinite(r.sales_price) && std::isfinite(r.cf_price)) {
          members.push_back(i);
          a.push_back(r.book_price);
          b.push_back(r.sales_price);
          c.push_back(r.cf_price);
        }
      }
      const auto val = value_scores(a, b, c);
      for (std::size_t k = 0; k < members.size(); ++k)
        symbols[ids[members[k]]].last_scores[2] = val[k];
    }

    // Momentum over the rows with 524 rows of history and no missing return in the window.
    members.clear();
    a.clear();
    for (std::size_t i = 0; i < n; ++i) {
      SymbolState& s = symbols[ids[i]];
      s.last_scores[0] = kNaN;
      if (s.returns.size() < static_cast<std::size_t>(kMomentumHistory)) continue;
      const auto window = std::span<const double>(s.returns).subspan(
          s.returns.size() - kMomentumHistory, kMomentumWindow);
      const double raw = momentum_raw(window);
      if (!std::isfinite(raw)) continue;
      members.push_back(i);
      a.push_back(raw);
    }
    const auto mom = momentum_scores(a);
    for (std::size_t k = 0; k < members.size(); ++k)
      symbols[ids[members[k]]].last_scores[0] = mom[k];
  }
};

FactorModel::FactorModel(FactorModelConfig config) : s_(std::make_unique<State>()) {
  s_->config = std::move(config);
  if (s_->given()) {
    s_->style_names = s_->config.given_styles;
  } else {
    s_->style_names = {"mom", "sze"};
    if (s_->config.value) s_->style_names.emplace_back("val");
  }
  s_->factor_names.emplace_back("market");
  for (const auto& name : s_->config.sectors) s_->factor_names.push_back(name);
  for (const auto& name : s_->style_names) s_->factor_names.push_back(name);
}

FactorModel::~FactorModel() = default;
FactorModel::FactorModel(FactorModel&&) noexcept = default;
FactorModel& FactorModel::operator=(FactorModel&&) noexcept = default;

const std::vector<std::string>& FactorModel::factor_names() const noexcept {
  return s_->factor_names;
}
const std::vector<std::string>& FactorModel::style_names() const noexcept {
  return s_->style_names;
}
const FactorModelConfig& FactorModel::config() const noexcept { return s_->config; }
const std::string& FactorModel::last_date() const noexcept { return s_->last_date; }
std::uint64_t FactorModel::dates_fitted() const noexcept { return s_->fitted; }
std::uint64_t FactorModel::dates_skipped() const noexcept { return s_->skipped; }
std::uint64_t FactorModel::rows_left_out() const noexcept { return s_->left_out; }

core::Result<std::optional<DatedFit>> FactorModel::add_date(std::string date,
                                                            std::span<const Row> rows) {
  State& s = *s_;
  const auto bad = [&](std::string what) {
    return core::fail(core::ErrorCode::kInvalidArgument, fmt::format("{}: {}", date, what));
  };
  if (!s.last_date.empty() && !(date > s.last_date)) {
    return bad(fmt::format("dates must ascend; the previous date was {}", s.last_date));
  }
  const std::size_t k = s.style_count();
  s.sorted.clear();
  for (const Row& r : rows) {
    if (r.sector >= s.config.sectors.size()) {
      return bad(fmt::format("{}: sector index {} of {} sectors", r.symbol, r.sector,
                             s.config.sectors.size()));
    }
    if (std::isfinite(r.market_cap) ? !(r.market_cap > 0) : !std::isnan(r.market_cap)) {
      return bad(fmt::format("{}: market cap {} is not positive", r.symbol, r.market_cap));
    }
    if (s.given() && r.styles.size() != k) {
      return bad(fmt::format("{}: {} style values, want {}", r.symbol, r.styles.size(), k));
    }
    s.sorted.push_back(&r);
  }
  // Most dates hold the previous date's symbols in the same (sorted) order: then the ids are
  // known without hashing, and the order and uniqueness were checked on that date.
  bool same = s.sorted.size() == s.last_rows.size();
  for (std::size_t i = 0; same && i < s.sorted.size(); ++i) {
    same = s.symbols[s.last_rows[i]].name == s.sorted[i]->symbol;
  }
  if (same) {
    s.ids = s.last_rows;
  } else {
    const auto by_symbol = [](const Row* x, const Row* y) { return x->symbol < y->symbol; };
    if (!std::is_sorted(s.sorted.begin(), s.sorted.end(), by_symbol)) {
      std::sort(s.sorted.begin(), s.sorted.end(), by_symbol);
    }
    for (std::size_t i = 1; i < s.sorted.size(); ++i) {
      if (s.sorted[i]->symbol == s.sorted[i - 1]->symbol) {
        return bad(fmt::format("{} appears twice", s.sorted[i]->symbol));
      }
    }
    s.ids.clear();
    for (const Row* r : s.sorted) s.ids.push_back(s.id_of(r->symbol));
  }

  // The cross-section of the assets with every input.
  s.clear_section();
  for (std::size_t i = 0; i < s.sorted.size(); ++i) {
    const Row& r = *s.sorted[i];
    const SymbolState& st = s.symbols[s.ids[i]];
    if (!std::isfinite(r.ret)) continue;
    if (s.given()) {
      if (!std::isfinite(r.market_cap)) continue;
      bool finite = true;
      for (std::size_t j = 0; j < k; ++j) finite = finite && std::isfinite(r.styles[j]);
      if (!finite) continue;
      s.x_cap.push_back(r.market_cap);
      s.x_sector.push_back(r.sector);
      for (std::size_t j = 0; j < k; ++j) s.x_styles.push_back(r.styles[j]);
    } else {
      if (!st.has_last || !std::isfinite(st.last_cap)) continue;
      if (!std::all_of(st.last_scores, st.last_scores + k,
                       [](double v) { return std::isfinite(v); }))
        continue;
      s.x_cap.push_back(st.last_cap);
      s.x_sector.push_back(st.last_sector);
      s.x_styles.insert(s.x_styles.end(), st.last_scores, st.last_scores + k);
    }
    s.x_ret.push_back(r.ret);
    s.x_symbols.push_back(st.name);
  }
  s.left_out += s.sorted.size() - s.x_ret.size();

  std::optional<DatedFit> out;
  std::vector<bool> present(s.config.sectors.size(), false);
  for (const auto j : s.x_sector) present[j] = true;
  const auto sectors_present =
      static_cast<std::size_t>(std::count(present.begin(), present.end(), true));
  if (sectors_present > 0 && s.x_ret.size() >= sectors_present + k + 1) {
    DatedFit f{.date = date, .assets = s.x_ret.size()};
    auto ok = s.estimator.fit({.returns = s.x_ret,
                               .market_caps = s.x_cap,
                               .sectors = s.x_sector,
                               .sector_count = s.config.sectors.size(),
                               .styles = s.x_styles,
                               .style_count = k,
                               .checked = true},
                              s.config.model, f.fit);
    if (!ok) return bad(ok.error().message);
    f.symbols = s.x_symbols;
    out = std::move(f);
    ++s.fitted;
  } else {
    ++s.skipped;
  }

  // Today's rows become each symbol's previous row (computed styles only: given styles come
  // with their rows).
  for (std::size_t i = 0; !s.given() && i < s.sorted.size(); ++i) {
    const Row& r = *s.sorted[i];
    SymbolState& st = s.symbols[s.ids[i]];
    st.has_last = true;
    st.last_cap = r.market_cap;
    st.last_sector = r.sector;
    st.returns.push_back(r.ret);
    if (st.returns.size() >= 2 * static_cast<std::size_t>(kMomentumHistory)) {
      st.returns.erase(st.returns.begin(), st.returns.end() - kMomentumHistory);
    }
  }
  if (s.given()) {
    s.last_given.clear();
    for (const Row* r : s.sorted)
      s.last_given.insert(s.last_given.end(), r->styles.begin(), r->styles.end());
  } else {
    s.update_scores();
  }
  s.last_rows = s.ids;
  s.last_date = std::move(date);
  return out;
}

std::vector<SymbolExposures> FactorModel::latest_exposures() const {
  const State& s = *s_;
  std::vector<SymbolExposures> out;
  out.reserve(s.last_rows.size());
  const std::size_t k = s.style_count();
  for (std::size_t i = 0; i < s.last_rows.size(); ++i) {
    const SymbolState& st = s.symbols[s.last_rows[i]];
    SymbolExposures e{.symbol = st.name};
    if (s.given()) {
      e.values.assign(s.last_given.begin() + static_cast<std::ptrdiff_t>(i * k),
                      s.last_given.begin() + static_cast<std::ptrdiff_t>((i + 1) * k));
    } else {
      e.values.assign(st.last_scores, st.last_scores + s.style_count());
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace nautilus::toraniko
