// The whole trading loop in `nautilus run`: sample data -> strategy -> risk -> portfolio fills
// -> collateral -> analytics. A deterministic run's record is read back message by message, and
// the test keeps its own books from the fills it sees (doubles, average cost, written here from
// the definition, not the accounting component): after every account snapshot the portfolio's
// cash and realized PnL must equal them to the cent, and so must its NAV at the prices it had
// seen (the portfolio handles prices in the order they were published, so those are the record's
// first L prices for some L that only grows: the test finds it). Orders the configured limits deny
// carry the right reason and value; no fill is counted twice; the kill switch, through REST
// with the API token, halts new orders and cancels open ones, until a person turns it back on;
// on the Redis bus the portfolio, killed mid-stream and started again, goes on from its snapshot
// without counting a fill twice.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/redis_server.hpp"

namespace {

namespace json = boost::json;
using nautilus::test::Child;
using nautilus::test::spawn;

constexpr const char* kLoopEngines = "marketdata,strategy,risk,portfolio,collateral,analytics";
const std::vector<int> kPorts = {8800, 8700, 8200, 8900, 9000, 8100};

// A --port-offset at which the loop's engines can all listen.
int free_offset() { return nautilus::test::free_port_offset(kPorts); }

double number(const json::value& v) {
  if (v.is_string()) return std::stod(std::string(v.as_string()));
  if (v.is_null()) return std::nan("");
  return v.to_number<double>();
}

// The books as the definitions say: average cost, a reduction realizes (price - average) x
// quantity, crossing zero opens the rest at the fill's price, commissions are realized losses.
struct Books {
  struct Position {
    double qty = 0;
    double cost = 0;  // of the open quantity, signed
  };
  double cash = 0;
  double realized = 0;
  std::map<std::string, Position> positions;

  void fill(const std::string& s, bool buy, double q, double px, double commission) {
    Position& p = positions[s];
    double signed_q = buy ? q : -q;
    if (p.qty != 0 && (p.qty > 0) != (signed_q > 0)) {
      const double closed = std::min(std::abs(signed_q), std::abs(p.qty));
      const double removed = p.cost * closed / std::abs(p.qty);
      realized += (p.qty > 0 ? 1 : -1) * closed * px - removed;
      p.cost -= removed;
      const double step = p.qty > 0 ? -closed : closed;
      p.qty += step;
      signed_q -= step;
      if (std::abs(p.qty) < 1e-12) p = {};
    }
    if (signed_q != 0) {
      p.cost += signed_q * px;
      p.qty += signed_q;
    }
    cash -= (buy ? q : -q) * px + commission;
    realized -= commission;
  }
  [[nodiscard]] double nav(const std::map<std::string, double>& at) const {
    double v = cash;
    for (const auto& [s, p] : positions) {
      if (p.qty != 0) v += p.qty * at.at(s);
    }
    return v;
  }
};

// The record's prices in order, and how many of them the portfolio had handled.
struct Prices {
  std::vector<std::pair<std::string, double>> all;
  std::size_t handled = 0;
  std::map<std::string, double> marks;  // after the first `handled`

  // Moves `handled` forward to the first L at which `nav` matches; false if none does.
  bool match(const Books& books, double nav) {
    for (std::size_t l = handled;; ++l) {
      if (l > handled) marks[all[l - 1].first] = all[l - 1].second;
      bool priced = true;
      for (const auto& [s, p] : books.positions)
        priced = priced && (p.qty == 0 || marks.contains(s));
      if (priced && std::abs(books.nav(marks) - nav) <= 0.01) {
        handled = l;
        return true;
      }
      if (l == all.size()) return false;
    }
  }
};

TEST(TradingLoop, ADeterministicRunKeepsTheBooksToTheCentAndDeniesWithTheRightReasons) {
  const std::string record =
      (std::filesystem::temp_directory_path() / fmt::format("nautilus_loop_{}.jsonl", ::getpid()))
          .string();
  Child run = spawn({"run", "--deterministic", "--record", record, "--until",
                     "2026-01-06T21:00:00Z", "--engines", kLoopEngines, "--port-offset",
                     std::to_string(free_offset()), "--set", "risk.max_position=400", "--set",
                     "risk.max_order_quantity=400", "--set", "portfolio.initial_cash=1000000"});
  ASSERT_EQ(run.wait_exit(std::chrono::seconds(240)), 0) << run.text.substr(0, 2000);

  Books books;
  books.cash = 1'000'000;
  std::map<std::uint64_t, json::object> orders;  // by client id
  std::set<std::uint64_t> approved;
  std::set<std::uint64_t> trade_ids;
  std::map<std::string, std::size_t> denials;
  std::size_t snapshots = 0;
  std::size_t fills = 0;
  std::size_t margin_updates = 0;
  std::size_t risk_metrics = 0;
  Prices prices;
  std::ifstream in(record);
  std::string line;
  while (std::getline(in, line)) {
    const json::object m = json::parse(line).as_object();
    const std::string_view topic = m.at("topic").as_string();
    const std::string_view type = m.at("type").as_string();
    const json::object& p = m.at("payload").as_object();
    if (type == "trade_tick" && topic.starts_with("market_data.")) {
      prices.all.emplace_back(p.at("symbol").as_string(), number(p.at("price")));
    } else if (type == "bar" && topic.starts_with("market_data.")) {
      prices.all.emplace_back(p.at("symbol").as_string(), number(p.at("close")));
    } else if (type == "new_order" && topic.starts_with("order.new.")) {
      orders[p.at("client_order_id").to_number<std::uint64_t>()] = p;
    } else if (type == "new_order" && topic.starts_with("risk.order.")) {
      const auto id = p.at("client_order_id").to_number<std::uint64_t>();
      ASSERT_TRUE(orders.contains(id)) << "risk passed an order nobody sent: " << line;
      approved.insert(id);
    } else if (type == "order_denied") {
      const auto id = p.at("client_order_id").to_number<std::uint64_t>();
      ASSERT_TRUE(orders.contains(id)) << line;
      ASSERT_FALSE(approved.contains(id)) << "denied after approval: " << line;
      const std::string reason(p.at("reason").as_string());
      ++denials[reason];
      const double qty = number(orders.at(id).at("quantity"));
      if (reason == "max_order_quantity") {
        EXPECT_GT(qty, 400) << line;
        EXPECT_DOUBLE_EQ(number(p.at("value")), qty) << line;
        EXPECT_DOUBLE_EQ(number(p.at("limit")), 400) << line;
      } else if (reason == "max_position") {
        EXPECT_GT(number(p.at("value")), 400) << line;  // the position if it filled
        EXPECT_LE(qty, 400) << line;  // the order itself passed the order-size check
      }
    } else if (type == "fill") {
      const auto id = p.at("client_order_id").to_number<std::uint64_t>();
      ASSERT_TRUE(approved.contains(id)) << "a fill for an order risk never passed: " << line;
      // Never on the print the strategy reacted to: after the order's time plus the latency.
      EXPECT_GT(p.at("ts_event").to_number<std::int64_t>(),
                orders.at(id).at("ts_event").to_number<std::int64_t>() + 1'000'000)
          << line;
      ASSERT_TRUE(trade_ids.insert(p.at("trade_id").to_number<std::uint64_t>()).second)
          << "a fill counted twice: " << line;
      books.fill(std::string(p.at("symbol").as_string()), p.at("side").as_string() == "buy",
                 number(p.at("quantity")), number(p.at("price")), number(p.at("commission")));
      ++fills;
    } else if (type == "portfolio_snapshot") {
      ++snapshots;
      ASSERT_NEAR(number(p.at("cash")), books.cash, 0.01) << "after " << fills << " fills";
      ASSERT_NEAR(number(p.at("realized_pnl")), books.realized, 0.01) << "after " << fills;
      const std::size_t before = prices.handled;
      ASSERT_TRUE(prices.match(books, number(p.at("nav"))))
          << "NAV " << number(p.at("nav")) << " after " << fills << " fills is not the books at "
          << "the prices of any moment after the " << before << "th";
      // cash + positions at market = NAV, in the snapshot itself
      ASSERT_NEAR(number(p.at("nav")) - number(p.at("cash")), number(p.at("net_exposure")), 0.01);
    } else if (type == "margin_update") {
      ++margin_updates;
    } else if (type == "risk_metrics") {
      ++risk_metrics;
      EXPECT_GE(number(p.at("expected_shortfall")), number(p.at("var"))) << line;
      if (number(p.at("gross_exposure")) > 0) EXPECT_GT(number(p.at("var")), 0) << line;
    }
  }
  std::filesystem::remove(record);
  EXPECT_GT(orders.size(), 100U);
  EXPECT_GT(fills, 100U);
  EXPECT_GT(snapshots, 100U);
  EXPECT_GT(margin_updates, 100U);
  EXPECT_GT(risk_metrics, 6U);  // each VaR run: three methods at 95 % and 99 %
  EXPECT_GT(denials["max_order_quantity"], 0U);
  EXPECT_GT(denials["max_position"], 0U);
}

std::uint64_t metric(std::uint16_t port, const std::string& line_start) {
  const auto r = nautilus::test::http_get(port, "/metrics");
  const auto at = r.body.find(line_start);
  if (at == std::string::npos) return 0;
  const auto space = r.body.find(' ', at + line_start.size() - 1);
  return std::strtoull(r.body.c_str() + space + 1, nullptr, 10);
}

bool eventually(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

TEST(TradingLoop, TheKillSwitchNeedsTheTokenHaltsNewOrdersAndCancelsOpenOnes) {
  const int offset = free_offset();
  const auto risk = static_cast<std::uint16_t>(8200 + offset);
  const auto portfolio = static_cast<std::uint16_t>(8900 + offset);
  // Slow fills (1 % of each bar's volume) keep orders open when the switch comes.
  Child run = spawn({"run", "--speed", "600", "--engines", kLoopEngines, "--port-offset",
                     std::to_string(offset), "--set", "portfolio.participation=0.01"},
                    {"NAUTILUS_API_TOKEN=loop-secret"});
  ASSERT_TRUE(run.read_until([](const std::string& t) { return t.find(" up in ") != t.npos; },
                             std::chrono::seconds(30)))
      << run.text;
  const std::string passed = "nautilus_risk_orders_passed_total{engine=\"risk\"} ";
  // An order resting in execution when the switch comes, so that its cancel can be seen.
  ASSERT_TRUE(eventually(
      [&] {
        const auto orders = nautilus::test::http_get(portfolio, "/portfolio/orders").body;
        return orders.starts_with("[{");
      },
      std::chrono::seconds(60)))
      << "no order open in the portfolio: " << metric(risk, passed) << " passed risk";
  const auto unauthorised = nautilus::test::http_request(risk, "POST", "/risk/kill");
  EXPECT_EQ(unauthorised.status, 401) << unauthorised.body;
  const std::string token = "Authorization: Bearer loop-secret\r\n";
  const auto killed = nautilus::test::http_request(risk, "POST", "/risk/kill", "", token);
  ASSERT_EQ(killed.status, 200) << killed.body;
  EXPECT_NE(killed.body.find("\"state\":\"halted\""), std::string::npos) << killed.body;
  // Every open order is cancelled, and nothing passes any more while the strategy keeps trying.
  EXPECT_TRUE(eventually(
      [&] { return nautilus::test::http_get(portfolio, "/portfolio/orders").body == "[]"; },
      std::chrono::seconds(10)))
      << nautilus::test::http_get(portfolio, "/portfolio/orders").body;
  // Nothing passes while halted: the strategy stands down on risk's alert, and the gate would
  // deny what came anyway (tests/unit/risk/*: trading_halted). Three seconds are half an hour of
  // the sample's data at this speed, ample for the strategy to have traded.
  const std::uint64_t after_kill = metric(risk, passed);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(metric(risk, passed), after_kill);
  EXPECT_NE(nautilus::test::http_get(risk, "/risk/state").body.find("\"state\":\"halted\""),
            std::string::npos);
  // A person turns it back on, with the token.
  const auto active =
      nautilus::test::http_request(risk, "POST", "/risk/state", R"({"state":"active"})", token);
  EXPECT_EQ(active.status, 200) << active.body;
  EXPECT_TRUE(
      eventually([&] { return metric(risk, passed) > after_kill; }, std::chrono::seconds(30)));
  ::kill(run.pid, SIGINT);
  EXPECT_EQ(run.wait_exit(std::chrono::seconds(30)), 0) << run.text.substr(0, 2000);
}

std::string account(std::uint16_t port) {
  return nautilus::test::http_get(port, "/portfolio/account").body;
}
// NaN when the body is not the account (the engine not up yet, or down).
double account_field(const std::string& body, const std::string& key) {
  json::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains(key)) return std::nan("");
  return number(v.as_object().at(key));
}

TEST(TradingLoop, APortfolioKilledMidStreamGoesOnFromItsSnapshotCountingNoFillTwice) {
  nautilus::testing::RedisServer redis;
  const std::string port = std::to_string(redis.port());
  const std::vector<std::string> env = {"REDIS_PORT=" + port, "MARKETDATA_REDIS_PORT=" + port,
                                        "ENGINE_LOGIC_REDIS_PORT=" + port};
  const int offset = free_offset();
  const auto portfolio_port = static_cast<std::uint16_t>(8900 + offset);
  const std::vector<std::string> portfolio_cmd = {"engine", "portfolio",
                                                  "--bus",  "redis",
                                                  "--port", std::to_string(portfolio_port),
                                                  "--set",  "portfolio.participation=0.05"};
  Child portfolio = spawn(portfolio_cmd, env);
  ASSERT_TRUE(portfolio.read_until([](const std::string& t) { return t.find(" up in ") != t.npos; },
                                   std::chrono::seconds(30)))
      << portfolio.text;
  Child rest = spawn({"run", "--bus", "redis", "--engines", "marketdata,strategy,risk", "--speed",
                      "300", "--port-offset", std::to_string(offset)},
                     env);
  ASSERT_TRUE(rest.read_until([](const std::string& t) { return t.find(" up in ") != t.npos; },
                              std::chrono::seconds(30)))
      << rest.text;
  // Some fills, then a kill -9 while orders and prices keep coming.
  ASSERT_TRUE(eventually([&] { return account_field(account(portfolio_port), "fills") >= 20; },
                         std::chrono::seconds(90)))
      << account(portfolio_port);
  ::kill(portfolio.pid, SIGKILL);
  portfolio.wait_exit(std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Child again = spawn(portfolio_cmd, env);
  ASSERT_TRUE(again.read_until([](const std::string& t) { return t.find(" up in ") != t.npos; },
                               std::chrono::seconds(30)))
      << again.text;
  EXPECT_NE(again.text.find("restored from its snapshot"), std::string::npos) << again.text;
  // The books take a batch before the snapshot saves it, so a kill between the two restores
  // the fills before that batch: fewer than the account showed, never none. The batch's
  // fills were not published either; the reconciliation below counts every fill once.
  const double restored = account_field(account(portfolio_port), "fills");
  EXPECT_GT(restored, 0);
  ASSERT_TRUE(
      eventually([&] { return account_field(account(portfolio_port), "fills") >= restored + 20; },
                 std::chrono::seconds(90)))
      << account(portfolio_port);
  // Stop the orders and prices, let the portfolio settle, then compare.
  ::kill(rest.pid, SIGINT);
  EXPECT_EQ(rest.wait_exit(std::chrono::seconds(30)), 0) << rest.text.substr(0, 2000);
  std::string settled = account(portfolio_port);
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const std::string now = account(portfolio_port);
    if (now == settled) break;
    settled = now;
  }
  // Every fill on the bus, the snapshot's republished batch included: each trade id once in the
  // books, every copy of it the same fill.
  Child replay = spawn({"replay", "--bus", "logic", "--from", "-", "--topic", "portfolio.fill.*",
                        "--limit", "1000000"},
                       env);
  ASSERT_EQ(replay.wait_exit(std::chrono::seconds(60)), 0) << replay.text.substr(0, 1000);
  std::map<std::uint64_t, std::string> by_id;
  Books books;
  books.cash = 1'000'000;
  std::istringstream lines(replay.text);
  std::string line;
  std::size_t copies = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    json::error_code ec;
    const json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    const auto* envelope = v.as_object().if_contains("envelope");
    ASSERT_TRUE(envelope != nullptr && envelope->is_object()) << line;
    const json::object& m = envelope->as_object();
    const auto* type = m.if_contains("type");
    const auto* payload = m.if_contains("payload");
    ASSERT_TRUE(type != nullptr && payload != nullptr) << line;
    if (type->as_string() != "fill") continue;
    const json::object& p = payload->as_object();
    const auto id = p.at("trade_id").to_number<std::uint64_t>();
    const std::string text = json::serialize(p);
    ++copies;
    const auto [it, fresh] = by_id.emplace(id, text);
    if (!fresh) {
      EXPECT_EQ(it->second, text) << "trade id " << id << " names two different fills";
      continue;
    }
    books.fill(std::string(p.at("symbol").as_string()), p.at("side").as_string() == "buy",
               number(p.at("quantity")), number(p.at("price")), number(p.at("commission")));
  }
  EXPECT_EQ(account_field(settled, "fills"), static_cast<double>(by_id.size())) << settled;
  EXPECT_NEAR(account_field(settled, "cash"), books.cash, 0.01) << settled;
  EXPECT_NEAR(account_field(settled, "realized_pnl"), books.realized, 0.01) << settled;
  EXPECT_GT(copies, 0U);
  ::kill(again.pid, SIGINT);
  EXPECT_EQ(again.wait_exit(std::chrono::seconds(30)), 0) << again.text.substr(0, 2000);
}

}  // namespace
