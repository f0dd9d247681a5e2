// The streaming sources: the Binance and IBKR decoders on recorded-format frames
// (tests/fixtures/marketdata/*.jsonl), the WebSocket client, and LiveStream against a loopback
// server (support/ws_replay_server.hpp) that replays those frames, drops the connection,
// replays overlapping frames, skips trade ids and stalls. Everything is on 127.0.0.1.
#include "nautilus/marketdata/streaming.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

#include "nautilus/engine/host.hpp"
#include "nautilus/engines/registry.hpp"
#include "nautilus/model/requests.hpp"
#include "nautilus/net/websocket_client.hpp"
#include "support/http_client.hpp"
#include "support/ws_replay_server.hpp"

namespace nautilus::marketdata {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using core::ErrorCode;

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::string(NAUTILUS_SOURCE_DIR) + "/tests/fixtures/marketdata/" + name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

constexpr core::UnixNanos ms(std::int64_t v) { return v * 1'000'000; }

// Pings every 100 ms (life, for the client's stall detection) until the client goes away, for
// at most 5 s: a last connection that must not be taken for stalled.
void keep_alive(test::WsSession& s) {
  for (int i = 0; i < 50 && s.ping(); ++i) s.stall(100ms);
}

// The records a stream delivered, taken on its thread.
struct Collected {
  mutable std::mutex mu;
  std::vector<Record> records;
  std::vector<StreamGap> gaps;
  StreamSink sink() {
    return [this](const Record& r) {
      std::lock_guard lock(mu);
      records.push_back(r);
    };
  }
  std::function<void(const StreamGap&)> on_gap() {
    return [this](const StreamGap& g) {
      std::lock_guard lock(mu);
      gaps.push_back(g);
    };
  }
  std::vector<model::TradeTick> trades() const {
    std::lock_guard lock(mu);
    std::vector<model::TradeTick> out;
    for (const auto& r : records) {
      if (const auto* t = std::get_if<model::TradeTick>(&r)) out.push_back(*t);
    }
    return out;
  }
  std::vector<model::QuoteTick> quotes() const {
    std::lock_guard lock(mu);
    std::vector<model::QuoteTick> out;
    for (const auto& r : records) {
      if (const auto* q = std::get_if<model::QuoteTick>(&r)) out.push_back(*q);
    }
    return out;
  }
};

// ---- Binance decoder --------------------------------------------------------------------

TEST(BinanceDecoder, DecodesTheRecordedTradesWithExactValues) {
  const auto lines = fixture_lines("binance_trades.jsonl");
  ASSERT_EQ(lines.size(), 16U);
  std::vector<model::TradeTick> trades;
  for (const auto& l : lines) {
    auto n = decode_binance_frame(l, trades);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 1U);
  }
  ASSERT_EQ(trades.size(), 16U);
  const auto& first = trades[0];
  EXPECT_EQ(first.symbol.value(), "BTCUSDT");
  EXPECT_EQ(first.price.to_string(), "69012.34000000");  // Binance's 8 decimals kept
  EXPECT_EQ(first.size.to_string(), "0.00150000");
  EXPECT_EQ(first.trade_id, 3541276001U);
  EXPECT_EQ(first.ts_event, ms(1712596911630));  // T, not the event time E
  // "m": true, the buyer was the maker: the seller hit the bid.
  EXPECT_EQ(first.aggressor, model::AggressorSide::kSeller);
  EXPECT_EQ(trades[1].aggressor, model::AggressorSide::kBuyer);  // "m": false
  EXPECT_EQ(trades[1].size.to_string(), "0.01200000");
  const auto& eth = trades[3];
  EXPECT_EQ(eth.symbol.value(), "ETHUSDT");
  EXPECT_EQ(eth.price.to_string(), "3501.22000000");
  EXPECT_EQ(eth.trade_id, 1402867101U);
  // Ids are consecutive per symbol in the recording.
  std::uint64_t last_btc = 0;
  for (const auto& t : trades) {
    if (t.symbol.value() != "BTCUSDT") continue;
    if (last_btc != 0) {
      EXPECT_EQ(t.trade_id, last_btc + 1);
    }
    last_btc = t.trade_id;
  }
}

TEST(BinanceDecoder, TheCombinedStreamFormCarriesTheSameTrade) {
  const auto line = fixture_lines("binance_trades.jsonl").at(0);
  std::vector<model::TradeTick> raw, combined, reordered;
  ASSERT_TRUE(decode_binance_frame(line, raw));
  auto r = decode_binance(R"({"stream":"btcusdt@trade","data":)" + line + "}", combined);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->kind, FrameKind::kData);
  ASSERT_EQ(combined.size(), 1U);
  EXPECT_EQ(combined[0], raw[0]);
  ASSERT_TRUE(decode_binance(R"({"data":)" + line + R"(,"stream":"btcusdt@trade"})", reordered));
  EXPECT_EQ(reordered.at(0), raw[0]);
  // "data" that is not an object, or a combined frame with no stream name, is refused.
  std::vector<model::TradeTick> none;
  EXPECT_FALSE(decode_binance(R"({"stream":"btcusdt@trade","data":[1]})", none));
  EXPECT_FALSE(decode_binance(R"({"data":)" + line + "}", none));
  EXPECT_TRUE(none.empty());
}

TEST(BinanceDecoder, RepliesAndErrorRepliesAreNotTrades) {
  std::vector<model::TradeTick> trades;
  auto ok = decode_binance(R"({"result":null,"id":1})", trades);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->kind, FrameKind::kControl);
  EXPECT_EQ(ok->id, 1);
  auto list = decode_binance(R"({"result":["btcusdt@trade"],"id":3})", trades);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->kind, FrameKind::kControl);
  EXPECT_EQ(decode_binance_frame(R"({"result":null,"id":2})", trades).value_or(99), 0U);
  // The streams' documented error form, and the WebSocket API's.
  auto err = decode_binance(
      R"({"code": 2, "msg": "Invalid request: request ID must be an unsigned integer", "id": 7})",
      trades);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, FrameKind::kServerError);
  EXPECT_NE(err->message.find("code 2"), std::string::npos) << err->message;
  EXPECT_NE(err->message.find("request ID must be"), std::string::npos);
  auto api = decode_binance(R"({"error":{"code":-1121,"msg":"Invalid symbol."},"id":4})", trades);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->kind, FrameKind::kServerError);
  EXPECT_NE(api->message.find("Invalid symbol."), std::string::npos);
  auto as_error = decode_binance_frame(R"({"code":3,"msg":"Invalid JSON"})", trades);
  ASSERT_FALSE(as_error);
  EXPECT_EQ(as_error.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(trades.empty());
}

TEST(BinanceDecoder, OtherEventsAreIgnoredAndUnknownFieldsSkipped) {
  std::vector<model::TradeTick> trades;
  auto agg = decode_binance(
      R"({"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100",)"
      R"("f":100,"l":105,"T":1672515782136,"m":true,"M":true})",
      trades);
  ASSERT_TRUE(agg) << agg.error().message;
  EXPECT_EQ(agg->kind, FrameKind::kIgnored);
  EXPECT_TRUE(trades.empty());
  // The 2023 documentation's form, with buyer and seller order ids, in another key order.
  auto older = decode_binance(
      R"({"M":true,"m":false,"T":1672515782136,"a":50,"b":88,"q":"100","p":"0.001",)"
      R"("t":12345,"s":"BNBBTC","E":1672515782136,"e":"trade","x":{"future":[1,2.5e3,null]}})",
      trades);
  ASSERT_TRUE(older) << older.error().message;
  ASSERT_EQ(trades.size(), 1U);
  EXPECT_EQ(trades[0].price.to_string(), "0.001");
  EXPECT_EQ(trades[0].size.to_string(), "100");
  EXPECT_EQ(trades[0].trade_id, 12345U);
  EXPECT_EQ(trades[0].aggressor, model::AggressorSide::kBuyer);
}

TEST(BinanceDecoder, MalformedFramesAreErrorsNamingWhatIsWrong) {
  const std::string good = fixture_lines("binance_trades.jsonl").at(0);
  const auto with = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {good + "x", "text after the object"},
      {with(R"("p":"69012.34000000")", R"("p":69012.34)"), "field 'p'"},
      {with(R"("p":"69012.34000000")", R"("p":"1e5")"), "not a decimal"},
      {with(R"("p":"69012.34000000")", R"("p":"-1.5")"), "not a decimal"},
      {with(R"("p":"69012.34000000")", R"("p":"0.00000000")"), "must be positive"},
      {with(R"("q":"0.00150000",)", ""), "'q' is missing"},
      {with(R"("t":3541276001)", R"("t":-1)"), "field 't'"},
      {with(R"("t":3541276001)", R"("t":3541276001.5)"), "field 't'"},
      {with(R"("T":1712596911630)", R"("T":99999999999999999)"), "out of range"},
      {with(R"("m":true)", R"("m":"true")"), "field 'm'"},
      {with(R"("s":"BTCUSDT")", R"("s":"BTC USDT")"), "not a symbol"},
      {with(R"("s":"BTCUSDT")", R"("s":"BTC\u0055SDT")"), "escape"},
      {with(R"("M":true)", R"("M":true,"p":"1.0")"), "duplicate key"},
      {with(R"("M":true)", R"("M":tru)"), "field 'M'"},
      {with(R"("M":true)", R"("M":true,"z":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]])"),
       "malformed"},
      {R"({"stream":1,"data":{}})", "field 'stream'"},
      {R"({"hello":"world"})", "neither a trade"},
  };
  for (const auto& [frame, expected] : cases) {
    std::vector<model::TradeTick> trades;
    auto r = decode_binance(frame, trades);
    ASSERT_FALSE(r) << frame;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << frame;
    EXPECT_NE(r.error().message.find(expected), std::string::npos)
        << frame << " -> " << r.error().message;
    EXPECT_TRUE(trades.empty()) << frame;
  }
  // Every truncation of a good frame is an error, never a trade.
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    std::vector<model::TradeTick> trades;
    EXPECT_FALSE(decode_binance(good.substr(0, cut), trades)) << cut;
  }
}

// The scanner is strict JSON: whatever it accepts Boost.JSON parses to the same values, and
// whatever Boost.JSON refuses, it refuses (seeded mutations of the recorded frames).
TEST(BinanceDecoder, AgreesWithBoostJsonOnMutatedFrames) {
  const auto lines = fixture_lines("binance_trades.jsonl");
  std::mt19937_64 rng(7);
  const std::string alphabet = "{}[]\":,.-+0123456789eEtrufalsn \\\x80\xc3\xa9xp";
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string f = lines[rng() % lines.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !f.empty(); ++e) {
      const std::size_t at = rng() % f.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          f[at] = c;
          break;
        case 1:
          f.insert(f.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          f.erase(at, 1);
      }
    }
    std::vector<model::TradeTick> trades;
    auto ours = decode_binance(f, trades);
    json::error_code ec;
    const json::value theirs = json::parse(f, ec);
    if (ec) {
      EXPECT_FALSE(ours) << "accepted what Boost.JSON refuses (" << ec.message() << "): " << f;
      continue;
    }
    if (!ours || trades.empty()) continue;
    ++accepted;
    const auto& o = theirs.as_object();
    const auto& t = trades[0];
    EXPECT_EQ(std::string_view(o.at("s").as_string()), t.symbol.value()) << f;
    EXPECT_EQ(o.at("t").to_number<std::uint64_t>(), t.trade_id) << f;
    EXPECT_EQ(*core::Price::from_string(std::string_view(o.at("p").as_string())), t.price) << f;
    EXPECT_EQ(*core::Quantity::from_string(std::string_view(o.at("q").as_string())), t.size) << f;
    EXPECT_EQ(o.at("T").to_number<std::int64_t>() * 1'000'000, t.ts_event) << f;
    EXPECT_EQ(o.at("m").as_bool() ? model::AggressorSide::kSeller : model::AggressorSide::kBuyer,
              t.aggressor)
        << f;
  }
  EXPECT_GT(accepted, 500U);  // the comparison did run on frames still decodable
}

// ---- IBKR decoder -----------------------------------------------------------------------

constexpr std::uint64_t kAapl = 265598;
constexpr std::uint64_t kIbm = 8314;

IbkrDecoder watching_aapl_and_ibm() {
  IbkrDecoder d;
  d.watch(kAapl, core::Symbol::from_trusted("AAPL"));
  d.watch(kIbm, core::Symbol::from_trusted("IBM"));
  return d;
}

TEST(IbkrDecoder, RecordedFramesGiveQuotesAndTradesFromTheLastKnownValues) {
  const auto lines = fixture_lines("ibkr_smd.jsonl");
  ASSERT_EQ(lines.size(), 10U);
  auto d = watching_aapl_and_ibm();
  std::vector<FrameKind> kinds;
  std::vector<Record> out;
  for (const auto& l : lines) {
    auto r = d.decode(l, out);
    ASSERT_TRUE(r) << r.error().message;
    kinds.push_back(r->kind);
    EXPECT_EQ(r->duplicates, 0U) << l;
  }
  EXPECT_EQ(kinds[0], FrameKind::kControl);    // system: the user name
  EXPECT_EQ(kinds[1], FrameKind::kControl);    // sts: authenticated
  EXPECT_EQ(kinds[6], FrameKind::kHeartbeat);  // system hb
  EXPECT_EQ(kinds[2], FrameKind::kData);

  struct Expect {
    bool trade;
    std::string_view symbol;
    std::string_view a, b, c, d;  // quote: bid ask bid_size ask_size; trade: price size
    std::int64_t ms;
  };
  const std::vector<Expect> expected = {
      {false, "AAPL", "168.41", "168.43", "1300", "600", 1712596911593},
      {true, "AAPL", "168.42", "100", "", "", 1712596911593},
      {false, "AAPL", "168.40", "168.43", "900", "600", 1712596912104},  // bid side only came
      {true, "AAPL", "168.43", "200", "", "", 1712596912377},
      {false, "IBM", "187.50", "187.95", "400", "1000", 1712596912530},  // "C187.73": no trade
      {false, "AAPL", "168.40", "168.44", "900", "1200", 1712596921042},
      {true, "AAPL", "168.43", "300", "", "", 1712596921318},  // a size alone: same price
      {true, "IBM", "187.80", "100", "", "", 1712596921655},
  };
  ASSERT_EQ(out.size(), expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& e = expected[i];
    if (e.trade) {
      const auto* t = std::get_if<model::TradeTick>(&out[i]);
      ASSERT_NE(t, nullptr) << i;
      EXPECT_EQ(t->symbol.value(), e.symbol) << i;
      EXPECT_EQ(t->price.to_string(), e.a) << i;
      EXPECT_EQ(t->size.to_string(), e.b) << i;
      EXPECT_EQ(t->aggressor, model::AggressorSide::kNone);
      EXPECT_EQ(t->ts_event, ms(e.ms)) << i;
    } else {
      const auto* q = std::get_if<model::QuoteTick>(&out[i]);
      ASSERT_NE(q, nullptr) << i;
      EXPECT_EQ(q->symbol.value(), e.symbol) << i;
      EXPECT_EQ(q->bid.to_string(), e.a) << i;
      EXPECT_EQ(q->ask.to_string(), e.b) << i;
      EXPECT_EQ(q->bid_size.to_string(), e.c) << i;
      EXPECT_EQ(q->ask_size.to_string(), e.d) << i;
      EXPECT_EQ(q->ts_event, ms(e.ms)) << i;
    }
  }
  // The close price is not taken as a last trade.
  EXPECT_EQ(d.book(kIbm)->last->to_string(), "187.80");
}

TEST(IbkrDecoder, ReplayedUpdatesAreDroppedAsDuplicatesByUpdatedTime) {
  const auto lines = fixture_lines("ibkr_smd.jsonl");
  auto d = watching_aapl_and_ibm();
  std::vector<Record> out;
  ASSERT_TRUE(d.decode(lines[2], out));
  ASSERT_TRUE(d.decode(lines[4], out));
  ASSERT_EQ(out.size(), 3U);
  out.clear();
  for (const auto& l : {lines[4], lines[2], lines[3]}) {  // the same again, then older ones
    auto r = d.decode(l, out);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->duplicates, 1U) << l;
  }
  EXPECT_TRUE(out.empty());
  // A new update at a later time goes through.
  auto next = d.decode(lines[8], out);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->duplicates, 0U);
  EXPECT_EQ(out.size(), 1U);
}

TEST(IbkrDecoder, ClosePricesAndHaltsAreNoTrades) {
  auto d = watching_aapl_and_ibm();
  std::vector<Record> out;
  ASSERT_TRUE(d.decode(
      R"({"topic":"smd+8314","_updated":1000,"31":"C187.73","7059":"100","84":"187.5","86":"187.6"})",
      out));
  ASSERT_EQ(out.size(), 1U);  // the quote only
  EXPECT_TRUE(std::holds_alternative<model::QuoteTick>(out[0]));
  EXPECT_FALSE(d.book(kIbm)->last.has_value());
  out.clear();
  ASSERT_TRUE(d.decode(R"({"topic":"smd+8314","_updated":2000,"31":"H188.01"})", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.book(kIbm)->last->to_string(), "188.01");  // known, but not a new trade
  ASSERT_TRUE(d.decode(R"({"topic":"smd+8314","_updated":3000,"31":"188.02"})", out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(std::get<model::TradeTick>(out[0]).price.to_string(), "188.02");
  EXPECT_EQ(std::get<model::TradeTick>(out[0]).size.to_string(), "100");
}

TEST(IbkrDecoder, OtherContractsAreIgnoredAndSessionTroubleIsAServerError) {
  auto d = watching_aapl_and_ibm();
  std::vector<Record> out;
  auto other = d.decode(R"({"topic":"smd+76792991","_updated":1,"31":"250.1","7059":"5"})", out);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->kind, FrameKind::kIgnored);
  auto sts = d.decode(R"({"topic":"sts","args":{"authenticated":false}})", out);
  ASSERT_TRUE(sts);
  EXPECT_EQ(sts->kind, FrameKind::kServerError);
  EXPECT_NE(sts->message.find("not authenticated"), std::string::npos);
  auto refused = d.decode(R"({"topic":"smd+265598","error":"no market data permissions"})", out);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, FrameKind::kServerError);
  EXPECT_NE(refused->message.find("no market data permissions"), std::string::npos);
  auto waiting = d.decode(R"({"message":"waiting for session"})", out);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->kind, FrameKind::kControl);
  auto ack = d.decode(
      R"({"server_id":"q0","conidEx":"265598","conid":265598,"_updated":5,"6119":"q0","topic":"smd+265598"})",
      out);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->kind, FrameKind::kData);
  EXPECT_EQ(ack->events, 0U);
  EXPECT_TRUE(out.empty());
  d.forget(kAapl);
  auto forgotten = d.decode(R"({"topic":"smd+265598","_updated":9,"84":"1","86":"2"})", out);
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(forgotten->kind, FrameKind::kIgnored);
}

TEST(IbkrDecoder, MalformedFramesAreErrorsAndChangeNothing) {
  auto d = watching_aapl_and_ibm();
  std::vector<Record> out;
  ASSERT_TRUE(d.decode(fixture_lines("ibkr_smd.jsonl")[2], out));
  const auto before = *d.book(kAapl);
  out.clear();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"topic":"smd+265598","_updated":1712596999000,"84":"168.5","88":"1,30"})",
       "field 88 (bid size) '1,30'"},
      {R"({"topic":"smd+265598","_updated":1712596999000,"84":"16,8.5"})", "field 84 (bid)"},
      {R"({"topic":"smd+265598","_updated":1712596999000,"86":"X168.5"})", "field 86 (ask)"},
      {R"({"topic":"smd+265598","_updated":1712596999000,"7059":"1.3K"})", "field 7059"},
      {R"({"topic":"smd+265598","_updated":1712596999000,"31":"-"})", "field 31"},
      {R"({"topic":"smd+265598","84":"168.5"})", "without '_updated'"},
      {R"({"topic":"smd+265598","conid":8314,"_updated":1,"84":"1"})", "but conid 8314"},
      {R"({"topic":"smd+abc","_updated":1,"84":"1"})", "no contract id"},
      {R"({"topic":"smd+265598","_updated":-4,"84":"1"})", "field '_updated'"},
      {R"({"topic":"smd+265598","_updated":1,"84":[1]})", "field '84'"},
      {R"({"topic":"smd+265598","_updated":1,"84":"1","84":"2"})", "duplicate key"},
      {R"({"topic":"smd+265598",)", "malformed"},
      {"tic", "not a JSON object"},
  };
  for (const auto& [frame, expected] : cases) {
    auto r = d.decode(frame, out);
    ASSERT_FALSE(r) << frame;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << frame;
    EXPECT_NE(r.error().message.find(expected), std::string::npos)
        << frame << " -> " << r.error().message;
  }
  EXPECT_TRUE(out.empty());
  const auto& after = *d.book(kAapl);
  EXPECT_EQ(after.bid, before.bid);
  EXPECT_EQ(after.bid_size, before.bid_size);
  EXPECT_EQ(after.updated, before.updated);
}

TEST(IbkrDecoder, ConidsAreNumbersWithAnOptionalExchange) {
  EXPECT_EQ(parse_conid("265598").value_or(0), 265598U);
  EXPECT_EQ(parse_conid("265598@NASDAQ").value_or(0), 265598U);
  for (const char* bad : {"", "abc", "0", "0123", "12@", "12@NAS DAQ", "-5", "1e3"}) {
    auto r = parse_conid(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

// ---- WebSocket client -------------------------------------------------------------------

TEST(WebSocketClient, SendsAndReceivesAndATimeoutLeavesTheConnectionUsable) {
  test::WsReplayServer server([](test::WsSession& s, int) {
    if (!s.wait_received(1, 2s)) return;
    s.send("echo:" + s.received()[0]);
    std::this_thread::sleep_for(300ms);  // the client's receive times out meanwhile
    s.send(std::string(100'000, 'x'));   // larger than one TCP segment
    s.stall(2s);
  });
  auto ws = net::WebSocketClient::connect(server.url("/ws?x=1"), {.timeout = 2s});
  ASSERT_TRUE(ws) << ws.error().message;
  EXPECT_EQ(ws->host(), "127.0.0.1");
  ASSERT_TRUE(ws->send("hello"));
  auto echo = ws->receive(2s);
  ASSERT_TRUE(echo) << echo.error().message;
  EXPECT_EQ(*echo, "echo:hello");
  const auto t0 = std::chrono::steady_clock::now();
  auto quiet = ws->receive(100ms);
  ASSERT_FALSE(quiet);
  EXPECT_EQ(quiet.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_TRUE(ws->is_open());
  auto big = ws->receive(2s);
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->size(), 100'000U);
  ws->close();
  EXPECT_FALSE(ws->is_open());
  EXPECT_TRUE(eventually([&] { return server.received().size() == 1; }));
}

TEST(WebSocketClient, ADroppedConnectionAndAServerCloseAreClosed) {
  test::WsReplayServer server([](test::WsSession& s, int n) {
    s.send("one");
    if (n == 0) {
      s.drop();
    } else {
      s.close();
    }
  });
  for (int i = 0; i < 2; ++i) {
    auto ws = net::WebSocketClient::connect(server.url(), {.timeout = 2s});
    ASSERT_TRUE(ws) << ws.error().message;
    EXPECT_EQ(ws->receive(2s).value_or(""), "one");
    auto gone = ws->receive(2s);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, ErrorCode::kClosed) << gone.error().message;
    EXPECT_NE(gone.error().message.find("127.0.0.1"), std::string::npos);
    // Every later call answers the same error.
    EXPECT_EQ(ws->send("x").error().code, ErrorCode::kClosed);
  }
}

TEST(WebSocketClient, RefusedConnectionsAndBadUrlsAreErrorsNamingWhatFailed) {
  const auto port = std::to_string(test::free_port());
  auto refused = net::WebSocketClient::connect("ws://127.0.0.1:" + port + "/ws", {.timeout = 2s});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
  EXPECT_NE(refused.error().message.find("127.0.0.1:" + port + ": connect"), std::string::npos)
      << refused.error().message;
  for (const char* bad : {"http://127.0.0.1/ws", "ws://", "wss://host:0/", "stream.binance.com"}) {
    auto r = net::WebSocketClient::connect(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  auto header = net::WebSocketClient::connect("ws://127.0.0.1:" + port + "/",
                                              {.headers = {{"Cookie", "a\r\nInjected: 1"}}});
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(net::parse_ws_url("wss://stream.binance.com:9443/ws")->port, "9443");
  EXPECT_EQ(net::parse_ws_url("ws://localhost/v1/api/ws")->port, "80");
  EXPECT_TRUE(net::parse_ws_url("wss://localhost/v1/api/ws")->tls);
}

TEST(WebSocketClient, AMessageOverTheLimitIsRefused) {
  test::WsReplayServer server([](test::WsSession& s, int) {
    s.send(std::string(4096, 'y'));
    s.stall(2s);
  });
  auto ws = net::WebSocketClient::connect(server.url(), {.timeout = 2s, .max_frame_bytes = 1024});
  ASSERT_TRUE(ws) << ws.error().message;
  auto r = ws->receive(2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCapacity) << r.error().message;
}

TEST(WebSocketClient, ACancelEndsABlockedReceiveAtOnce) {
  test::WsReplayServer server([](test::WsSession& s, int) { s.stall(5s); });
  std::atomic<bool> cancel{false};
  auto ws = net::WebSocketClient::connect(server.url(), {.timeout = 2s, .cancel = &cancel});
  ASSERT_TRUE(ws) << ws.error().message;
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    cancel = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = ws->receive(10s);
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kClosed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(WebSocketClient, WssVerifiesTheServerCertificateAndItsName) {
  test::TestCertificate cert;
  ASSERT_TRUE(cert.ok()) << "openssl could not make a certificate";
  test::WsReplayServer server(
      [](test::WsSession& s, int) {
        if (s.wait_received(1, 2s)) s.send("secure:" + s.received()[0]);
        s.stall(1s);
      },
      {.cert_file = cert.cert(), .key_file = cert.key()});
  auto trusted = net::WebSocketClient::connect(server.url("/ws", "localhost"),
                                               {.timeout = 3s, .ca_file = cert.cert()});
  ASSERT_TRUE(trusted) << trusted.error().message;
  ASSERT_TRUE(trusted->send("hi"));
  EXPECT_EQ(trusted->receive(2s).value_or(""), "secure:hi");
  trusted->close();
  // The system CAs do not know the test's certificate.
  auto untrusted = net::WebSocketClient::connect(server.url("/ws", "localhost"), {.timeout = 3s});
  ASSERT_FALSE(untrusted);
  EXPECT_NE(untrusted.error().message.find("TLS handshake"), std::string::npos)
      << untrusted.error().message;
  // Trusted certificate, wrong name: the certificate names localhost, not 127.0.0.1.
  auto wrong = net::WebSocketClient::connect(server.url("/ws", "127.0.0.1"),
                                             {.timeout = 3s, .ca_file = cert.cert()});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("TLS handshake"), std::string::npos)
      << wrong.error().message;
  auto missing_ca = net::WebSocketClient::connect(server.url("/ws", "localhost"),
                                                  {.timeout = 3s, .ca_file = "/nonexistent.pem"});
  ASSERT_FALSE(missing_ca);
  EXPECT_NE(missing_ca.error().message.find("/nonexistent.pem"), std::string::npos);
}

// ---- LiveStream -------------------------------------------------------------------------

// The request id the client put in a Binance control frame (the replay server answers it).
std::int64_t request_id(const std::string& frame) {
  json::error_code ec;
  const auto v = json::parse(frame, ec);
  if (ec || !v.is_object() || !v.as_object().contains("id")) return -1;
  return v.as_object().at("id").to_number<std::int64_t>();
}

std::string reply_to(const std::string& frame) {
  return R"({"result":null,"id":)" + std::to_string(request_id(frame)) + "}";
}

LiveStreamOptions binance_options(const test::WsReplayServer& server) {
  return {.kind = "binance",
          .url = server.url("/ws"),
          .symbols = {"btcusdt"},
          .connect_timeout = 2s,
          .stall_timeout = 300ms,
          .backoff_min = 20ms,
          .backoff_max = 100ms};
}

TEST(LiveStreamBinance, ReconnectsDropsDuplicatesReportsGapsAndDetectsStalls) {
  std::vector<std::string> btc, eth;
  for (const auto& l : fixture_lines("binance_trades.jsonl")) {
    (l.find("BTCUSDT") != std::string::npos ? btc : eth).push_back(l);
  }
  ASSERT_EQ(btc.size(), 12U);
  test::WsReplayServer server([&](test::WsSession& s, int n) {
    if (!s.wait_received(1, 2s)) return;
    s.send(reply_to(s.received()[0]));
    if (n == 0) {  // trades 1-5, then the line is cut
      for (int i = 0; i < 5; ++i) s.send(btc[i]);
      s.drop();
    } else if (n == 1) {  // 4-8 again (4 and 5 overlap), then 11-12: 9 and 10 are missing
      for (int i = 3; i < 8; ++i) s.send(btc[i]);
      s.send(btc[10]);
      s.send(btc[11]);
      s.stall(3s);  // accepts, sends nothing: the client must give up on it
    } else {
      s.send(eth[0]);  // not subscribed: ignored
      keep_alive(s);
    }
  });
  Collected got;
  auto o = binance_options(server);
  o.on_gap = got.on_gap();
  auto stream = LiveStream::start(o, core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  ASSERT_TRUE(eventually([&] {
    const auto st = (*stream)->status();
    return st.connects == 3 && st.ignored == 1 && st.trades == 10;
  })) << (*stream)->status().last_error;

  const auto st = (*stream)->status();
  EXPECT_TRUE(st.connected);
  EXPECT_EQ(st.reconnects, 2U);
  EXPECT_EQ(st.drops, 1U);
  EXPECT_EQ(st.stalls, 1U);
  EXPECT_EQ(st.duplicates, 2U);
  EXPECT_EQ(st.gaps, 1U);
  EXPECT_EQ(st.missing_trades, 2U);
  EXPECT_EQ(st.control_frames, 3U);  // the three replies
  EXPECT_EQ(st.decode_errors, 0U);
  EXPECT_GE(st.last_backoff, 15ms);  // backoff_min with its jitter (0.75..1.25)
  EXPECT_LE(st.last_backoff, 100ms);
  EXPECT_GT(st.downtime_ns, 0);
  EXPECT_EQ(st.symbols, std::vector<std::string>{"BTCUSDT"});

  std::vector<std::uint64_t> ids;
  for (const auto& t : got.trades()) ids.push_back(t.trade_id - 3541276000U);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 11, 12}));
  {
    std::lock_guard lock(got.mu);
    ASSERT_EQ(got.gaps.size(), 1U);
    EXPECT_EQ(got.gaps[0].symbol.value(), "BTCUSDT");
    EXPECT_EQ(got.gaps[0].first_missing, 3541276009U);
    EXPECT_EQ(got.gaps[0].last_missing, 3541276010U);
    EXPECT_EQ(got.gaps[0].missing, 2U);
    EXPECT_LT(got.gaps[0].from, got.gaps[0].to);
  }
  // Each connection subscribed again, with a fresh request id.
  const auto sent = server.received();
  ASSERT_EQ(sent.size(), 3U);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i], R"({"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":)" +
                           std::to_string(i + 1) + "}");
  }
  const auto t0 = std::chrono::steady_clock::now();
  stream->reset();
  // Stops while connected: well before the server's stall ends (a generous bound, since a
  // sanitizer build on a busy machine is slow; this is about not waiting, not about speed).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(LiveStreamBinance, SubscribeAndUnsubscribeSendTheDocumentedControlFrames) {
  test::WsReplayServer server([](test::WsSession& s, int) { s.stall(8s); });
  auto o = binance_options(server);
  o.symbols = {};
  o.stall_timeout = 5s;
  o.max_symbols = 2;
  Collected got;
  auto stream = LiveStream::start(o, core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  auto& s = **stream;
  ASSERT_TRUE(eventually([&] { return s.status().connected; }));
  ASSERT_TRUE(s.subscribe("BTCUSDT"));
  ASSERT_TRUE(eventually([&] { return server.received().size() == 1; }));
  ASSERT_TRUE(s.subscribe("ethusdt"));
  ASSERT_TRUE(eventually([&] { return server.received().size() == 2; }));
  ASSERT_TRUE(s.unsubscribe("btcusdt"));
  ASSERT_TRUE(eventually([&] { return server.received().size() == 3; }));
  EXPECT_EQ(server.received(), (std::vector<std::string>{
                                   R"({"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1})",
                                   R"({"method":"SUBSCRIBE","params":["ethusdt@trade"],"id":2})",
                                   R"({"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":3})",
                               }));
  // Control messages keep Binance's limit of 5 a second: 250 ms apart.
  const auto at = server.received_at();
  EXPECT_GE(at[2] - at[1], 200ms);
  EXPECT_EQ(s.status().symbols, std::vector<std::string>{"ETHUSDT"});
  // Counted once the write returns and published after it: the server may read the frame
  // first, so the count is waited for rather than read at once.
  EXPECT_TRUE(eventually([&] { return s.status().control_sent == 3U; })) << s.status().control_sent;

  EXPECT_EQ(s.subscribe("ETHUSDT").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.unsubscribe("XRPUSDT").error().code, ErrorCode::kNotFound);
  auto bad = s.subscribe("BTC/USD");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("BTC/USD"), std::string::npos);
  ASSERT_TRUE(s.subscribe("BTCUSDT"));
  auto full = s.subscribe("SOLUSDT");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kCapacity);
  EXPECT_NE(full.error().message.find("max_symbols"), std::string::npos);
}

TEST(LiveStreamBinance, PingsKeepAQuietConnectionAlive) {
  test::WsReplayServer server([](test::WsSession& s, int n) {
    if (n > 0) {
      keep_alive(s);
      return;
    }
    if (!s.wait_received(1, 2s)) return;
    for (int i = 0; i < 8; ++i) {  // 800 ms of pings only, against a 300 ms stall timeout
      if (!s.ping()) return;
      std::this_thread::sleep_for(100ms);
    }
    s.stall(3s);  // now silent
  });
  Collected got;
  auto stream = LiveStream::start(binance_options(server), core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ((*stream)->status().stalls, 0U);
  EXPECT_EQ((*stream)->status().connects, 1U);
  ASSERT_TRUE(eventually([&] { return (*stream)->status().stalls == 1; }, 3s));
  EXPECT_NE((*stream)->status().last_error.find("nothing received for 300 ms"), std::string::npos)
      << (*stream)->status().last_error;
}

TEST(LiveStreamBinance, ConnectFailuresBackOffExponentiallyUpToTheCap) {
  LiveStreamOptions o{.kind = "binance",
                      .url = "ws://127.0.0.1:" + std::to_string(test::free_port()) + "/ws",
                      .symbols = {"BTCUSDT"},
                      .connect_timeout = 1s,
                      .backoff_min = 10ms,
                      .backoff_max = 80ms};
  Collected got;
  auto stream = LiveStream::start(o, core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  std::vector<std::chrono::milliseconds> waits;
  ASSERT_TRUE(eventually([&] {
    const auto st = (*stream)->status();
    if (waits.empty() || waits.back() != st.last_backoff) waits.push_back(st.last_backoff);
    return st.connect_failures >= 6;
  }));
  const auto st = (*stream)->status();
  EXPECT_FALSE(st.connected);
  EXPECT_EQ(st.connects, 0U);
  EXPECT_NE(st.last_error.find("connect"), std::string::npos) << st.last_error;
  // 10, 20, 40, 80, 80 ms, each within 0.75..1.25 of that and never above the cap.
  EXPECT_GE(st.last_backoff, 60ms);
  EXPECT_LE(st.last_backoff, 80ms);
  for (const auto w : waits) EXPECT_LE(w, 80ms);
  const auto t0 = std::chrono::steady_clock::now();
  stream->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);  // not waiting out the 8 s stall
}

TEST(LiveStreamBinance, StreamsOverWssWithTheGivenCa) {
  test::TestCertificate cert;
  ASSERT_TRUE(cert.ok());
  const auto line = fixture_lines("binance_trades.jsonl").at(0);
  test::WsReplayServer server(
      [&](test::WsSession& s, int) {
        if (!s.wait_received(1, 2s)) return;
        s.send(reply_to(s.received()[0]));
        s.send(line);
        s.stall(5s);
      },
      {.cert_file = cert.cert(), .key_file = cert.key()});
  auto o = binance_options(server);
  o.url = server.url("/ws", "localhost");
  o.ca_file = cert.cert();
  o.stall_timeout = 5s;
  Collected got;
  auto stream = LiveStream::start(o, core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  ASSERT_TRUE(eventually([&] { return got.trades().size() == 1; }))
      << (*stream)->status().last_error;
  EXPECT_EQ(got.trades()[0].trade_id, 3541276001U);
  stream->reset();  // the server serves one connection at a time
  // Without the CA the stream keeps failing to connect, and says why.
  o.ca_file.clear();
  Collected none;
  auto refused = LiveStream::start(o, core::realtime_clock(), none.sink());
  ASSERT_TRUE(refused);
  ASSERT_TRUE(eventually([&] { return (*refused)->status().connect_failures >= 1; }));
  EXPECT_NE((*refused)->status().last_error.find("TLS handshake"), std::string::npos);
  EXPECT_TRUE(none.trades().empty());
}

LiveStreamOptions ibkr_options(const test::WsReplayServer& server) {
  return {.kind = "ibkr",
          .url = server.url("/v1/api/ws"),
          .symbols = {"AAPL", "IBM"},
          .connect_timeout = 2s,
          .stall_timeout = 400ms,
          .backoff_min = 20ms,
          .backoff_max = 100ms,
          .tic_interval = 150ms,
          .ibkr_session = "5f1c9e0b1a",
          .resolve_conid = [](std::string_view symbol) -> core::Result<std::string> {
            if (symbol == "AAPL") return std::string("265598");
            if (symbol == "IBM") return std::string("8314@NYSE");
            return core::fail(ErrorCode::kNotFound, "no such contract");
          }};
}

constexpr std::string_view kSmdFields = R"({"fields":["31","84","86","85","88","7059"]})";

TEST(LiveStreamIbkr, StreamsQuotesAndTradesReconnectsAndReportsTheDowntime) {
  const auto lines = fixture_lines("ibkr_smd.jsonl");
  test::WsReplayServer server([&](test::WsSession& s, int n) {
    if (!s.wait_received(3, 2s)) return;  // the session, then smd for both contracts
    if (n == 0) {
      for (int i = 0; i < 6; ++i) s.send(lines[i]);
      const auto tic = [&] {
        const auto& r = s.received();
        return std::count(r.begin(), r.end(), "tic") > 0;
      };
      for (int i = 0; i < 40 && !tic(); ++i) s.wait_received(s.received().size() + 1, 50ms);
      s.drop();
    } else if (n == 1) {
      s.send(lines[4]);  // already applied before the drop: a duplicate
      for (int i = 6; i < 10; ++i) s.send(lines[i]);
      s.stall(3s);
    } else {
      keep_alive(s);
    }
  });
  Collected got;
  auto o = ibkr_options(server);
  o.on_gap = got.on_gap();
  auto stream = LiveStream::start(o, core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  ASSERT_TRUE(eventually([&] {
    const auto st = (*stream)->status();
    return st.connects == 3 && st.trades == 4 && st.quotes == 4;
  })) << (*stream)->status().last_error;
  const auto st = (*stream)->status();
  EXPECT_EQ(st.duplicates, 1U);
  EXPECT_EQ(st.drops, 1U);
  EXPECT_EQ(st.stalls, 1U);
  EXPECT_EQ(st.heartbeats, 1U);
  EXPECT_EQ(st.control_frames, 2U);  // system and sts
  EXPECT_EQ(st.decode_errors, 0U);
  EXPECT_EQ(st.gaps, 2U);  // one per reconnect: the time away
  EXPECT_GT(st.downtime_ns, 0);
  EXPECT_EQ(st.symbols, (std::vector<std::string>{"AAPL", "IBM"}));
  {
    std::lock_guard lock(got.mu);
    ASSERT_EQ(got.gaps.size(), 2U);
    EXPECT_TRUE(got.gaps[0].symbol.empty());
    EXPECT_EQ(got.gaps[0].missing, 0U);
    EXPECT_LT(got.gaps[0].from, got.gaps[0].to);
  }
  std::vector<std::string> trades;
  for (const auto& t : got.trades()) {
    trades.push_back(std::string(t.symbol.value()) + " " + t.price.to_string() + "x" +
                     t.size.to_string());
  }
  EXPECT_EQ(trades, (std::vector<std::string>{"AAPL 168.42x100", "AAPL 168.43x200",
                                              "AAPL 168.43x300", "IBM 187.80x100"}));
  EXPECT_EQ(got.quotes().back().ask.to_string(), "168.44");

  const auto sent = server.received();
  ASSERT_GE(sent.size(), 7U);
  EXPECT_EQ(sent[0], R"({"session":"5f1c9e0b1a"})");
  EXPECT_EQ(sent[1], "smd+265598+" + std::string(kSmdFields));
  EXPECT_EQ(sent[2], "smd+8314@NYSE+" + std::string(kSmdFields));
  EXPECT_NE(std::find(sent.begin(), sent.end(), "tic"), sent.end());
}

TEST(LiveStreamIbkr, SubscribeResolvesTheConidAndUnsubscribeSendsUmd) {
  test::WsReplayServer server([](test::WsSession& s, int) { s.stall(8s); });
  auto o = ibkr_options(server);
  o.symbols = {};
  o.stall_timeout = 5s;
  o.tic_interval = 60s;
  o.ibkr_session.clear();
  o.resubscribe_every = 600ms;
  Collected got;
  auto stream = LiveStream::start(o, core::realtime_clock(), got.sink());
  ASSERT_TRUE(stream) << stream.error().message;
  auto& s = **stream;
  ASSERT_TRUE(eventually([&] { return s.status().connected; }));
  ASSERT_TRUE(s.subscribe("AAPL"));
  ASSERT_TRUE(eventually([&] { return !server.received().empty(); }));
  ASSERT_TRUE(s.unsubscribe("AAPL"));
  ASSERT_TRUE(s.subscribe("IBM"));
  ASSERT_TRUE(eventually([&] { return server.received().size() >= 4; }));
  const auto sent = server.received();
  EXPECT_EQ(sent[0], "smd+265598+" + std::string(kSmdFields));
  EXPECT_EQ(sent[1], "umd+265598+{}");
  EXPECT_EQ(sent[2], "smd+8314@NYSE+" + std::string(kSmdFields));
  EXPECT_EQ(sent[3], "smd+8314@NYSE+" + std::string(kSmdFields));  // renewed after 600 ms
  auto unknown = s.subscribe("TSLA");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("TSLA"), std::string::npos);
}

TEST(LiveStream, StartRefusesBadOptionsSayingWhich) {
  Collected got;
  const auto refused = [&](LiveStreamOptions o, std::string_view expected) {
    auto r = LiveStream::start(std::move(o), core::realtime_clock(), got.sink());
    ASSERT_FALSE(r) << expected;
    EXPECT_NE(r.error().message.find(expected), std::string::npos) << r.error().message;
  };
  const std::string url = "ws://127.0.0.1:9/ws";
  refused({.kind = "kraken", .url = url}, "'kraken'");
  refused({.kind = "binance", .url = "https://stream.binance.com/ws"}, "ws://");
  refused({.kind = "binance", .url = url + "?timeUnit=MICROSECOND"}, "timeUnit");
  refused({.kind = "binance", .url = url, .symbols = {"BTC-USDT"}}, "BTC-USDT");
  refused({.kind = "binance", .url = url, .backoff_min = 50ms, .backoff_max = 10ms}, "backoff_max");
  refused({.kind = "binance", .url = url, .stall_timeout = 0ms}, "stall_timeout");
  refused({.kind = "ibkr", .url = url}, "resolve_conid");
  refused({.kind = "ibkr",
           .url = url,
           .ibkr_session = "a\"b",
           .resolve_conid = [](std::string_view) -> core::Result<std::string> { return "1"; }},
          "ibkr_session");
  auto no_sink = LiveStream::start({.kind = "binance", .url = url}, core::realtime_clock(), {});
  ASSERT_FALSE(no_sink);
  EXPECT_NE(no_sink.error().message.find("sink"), std::string::npos);
}

// One request to the hub, waited for.
core::Result<bus::Envelope> ask(bus::MessageBus& bus, std::string_view endpoint,
                                const auto& request) {
  auto pub = *bus.publisher("probe");
  auto ep = *bus.endpoint(endpoint);
  auto done = std::make_shared<std::promise<core::Result<bus::Envelope>>>();
  auto fut = done->get_future();
  auto id = pub.request(ep, request, 5s,
                        [done](core::Result<bus::Envelope> r) { done->set_value(std::move(r)); });
  if (!id) return std::unexpected(id.error());
  if (fut.wait_for(10s) != std::future_status::ready) {
    return core::fail(core::ErrorCode::kTimeout, "no reply and no timeout");
  }
  return fut.get();
}

// marketdata.subscribe starts the Binance stream (a loopback server playing Binance), its trades
// come onto the bus through the quality filter (a bad print is dropped and counted), and
// marketdata.unsubscribe stops it.
TEST(HubStreams, SubscribeStreamsTradesThroughTheQualityFilterAndUnsubscribeStops) {
  bus::MessageBus bus;
  std::unique_ptr<engine::EngineHost> host;
  std::uint16_t port = 0;
  const auto ms = [](int i) {
    return std::to_string(core::realtime_clock().now() / 1'000'000 + i);
  };
  const auto frame = [&](int id, const char* price) {
    return R"({"e":"trade","E":)" + ms(id) + R"(,"s":"BTCUSDT","t":)" + std::to_string(id) +
           R"(,"p":")" + price + R"(","q":"0.01000000","T":)" + ms(id) + R"(,"m":false,"M":true})";
  };
  test::WsReplayServer server([&](test::WsSession& s, int) {
    if (!s.wait_received(1, 5s)) return;  // SUBSCRIBE
    s.send(R"({"result":null,"id":1})");
    for (auto [id, px] : {std::pair{1, "64000.10"},
                          {2, "64000.20"},
                          {3, "96000.00"},
                          {4, "64000.30"},
                          {5, "64000.40"}}) {
      s.send(frame(id, px));
    }
    (void)s.wait_received(2, 10s);  // UNSUBSCRIBE
    (void)s.stall(5s);
  });
  std::atomic<int> trades{0};
  ASSERT_TRUE(bus.subscribe("market_data.BTCUSDT.trade", [&](const bus::Envelope&) { ++trades; }));
  engine::EngineConfig cfg;
  cfg.set("source", "none");
  cfg.set("live_sources", "binance");
  cfg.set("binance_ws_url", server.url("/ws"));
  std::vector<std::unique_ptr<engine::Engine>> engines;
  engines.push_back(engines::find_engine("marketdata")->create());
  auto h = engine::EngineHost::start(bus, std::move(engines),
                                     {.ephemeral_ports = true, .configs = {{"marketdata", cfg}}});
  ASSERT_TRUE(h) << h.error().message;
  host = std::move(*h);
  port = host->engines().front().port;

  auto r = ask(bus, "marketdata.subscribe",
               model::StreamRequest{.symbol = core::Symbol::from_trusted("btcusdt")});
  ASSERT_TRUE(r) << r.error().message;
  const auto* st = r->get<model::StreamStatus>();
  ASSERT_NE(st, nullptr) << r->type_name();
  EXPECT_TRUE(st->active);
  EXPECT_EQ(st->symbol.value(), "BTCUSDT");  // as Binance names it
  EXPECT_EQ(st->source.view(), "binance");
  EXPECT_EQ(st->subscribers, 1u);
  for (int i = 0; i < 500 && trades.load() < 4; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(trades.load(), 4);  // five trades, the 96,000 print dropped as a spike
  auto m = test::http_get(port, "/metrics");
  EXPECT_NE(
      m.body.find(
          R"(nautilus_marketdata_quality_total{source="binance",symbol="BTCUSDT",check="spike"} 1)"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find(R"(nautilus_marketdata_stream_connected{source="binance"} 1)"),
            std::string::npos);
  auto streams = test::http_get(port, "/marketdata/streams");
  EXPECT_NE(streams.body.find(R"("symbol":"BTCUSDT","subscribers":1)"), std::string::npos)
      << streams.body;
  r = ask(bus, "marketdata.unsubscribe",
          model::StreamRequest{.symbol = core::Symbol::from_trusted("BTCUSDT"),
                               .source = *model::Name::create("binance")});
  ASSERT_TRUE(r);
  ASSERT_NE(r->get<model::StreamStatus>(), nullptr);
  EXPECT_FALSE(r->get<model::StreamStatus>()->active);
  for (int i = 0; i < 300 && server.received().size() < 2; ++i) std::this_thread::sleep_for(10ms);
  const auto sent = server.received();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[0].find(R"("method":"SUBSCRIBE","params":["btcusdt@trade"])"), std::string::npos)
      << sent[0];
  EXPECT_NE(sent[1].find("UNSUBSCRIBE"), std::string::npos) << sent[1];
  // Unsubscribing what is not streamed is an error reply, not a crash.
  r = ask(bus, "marketdata.unsubscribe",
          model::StreamRequest{.symbol = core::Symbol::from_trusted("ETHUSDT")});
  ASSERT_TRUE(r);
  ASSERT_NE(r->get<model::RequestFailed>(), nullptr);
  EXPECT_EQ(r->get<model::RequestFailed>()->error, model::RequestError::kNotFound);
  host->drain_and_stop();
}

}  // namespace
}  // namespace nautilus::marketdata
