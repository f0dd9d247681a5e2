// The platform's message vocabulary through the codec and JSON: every type of
// model::AllMessages, generated samples (support/sample_messages.hpp), so a type added to the
// list is covered without a line here.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "decoders.hpp"  // the streaming decoder itself (src/bus_codec)
#include "nautilus/bus/codec.hpp"
#include "nautilus/model/messages.hpp"
#include "support/msgpack_writer.hpp"
#include "support/sample_messages.hpp"

namespace nautilus::bus::codec {
namespace {

namespace mp11 = boost::mp11;
using testing_support::envelope_with;
using testing_support::Mp;
using testing_support::same;
using testing_support::sample;

template <class F>
void for_each_message(F&& f) {
  mp11::mp_for_each<mp11::mp_transform<std::add_pointer_t, model::AllMessages>>(
      [&](auto* p) { f(static_cast<std::remove_pointer_t<decltype(p)>*>(nullptr)); });
}

template <class T>
Envelope envelope_of(const T& msg) {
  Envelope e;
  e.topic = Topic::from_trusted("test.vocabulary");
  e.source = core::EngineId::from_trusted("tester");
  e.sequence = 9;
  e.ts_event = 1;
  e.ts_publish = 2;
  e.payload = Payload::make(msg);
  return e;
}

TEST(Vocabulary, EveryMessageTypeRoundTripsThroughBothDecoders) {
  for_each_message([](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (int seed = 0; seed < 3; ++seed) {
      const T msg = sample<T>(seed);
      std::string bytes;
      ASSERT_TRUE(encode(envelope_of(msg), bytes)) << T::kTypeName;
      for (const auto& back : {decode(bytes), decode_generic(bytes)}) {
        ASSERT_TRUE(back) << T::kTypeName << ": " << back.error().message;
        ASSERT_NE(back->template get<T>(), nullptr)
            << T::kTypeName << " came back as " << back->type_name();
        EXPECT_TRUE(same(*back->template get<T>(), msg)) << T::kTypeName;
      }
    }
  });
}

// A message as its type's defaults make it (no symbol: a risk alert about the whole book, the
// kill switch) comes back as it went: over Redis, one that did not was dropped as undecodable.
TEST(Vocabulary, EveryMessageTypeRoundTripsWithItsDefaultValuesAndNoSymbol) {
  for_each_message([](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T msg{};
    std::string bytes;
    ASSERT_TRUE(encode(envelope_of(msg), bytes)) << T::kTypeName;
    for (const auto& back : {decode(bytes), decode_generic(bytes)}) {
      ASSERT_TRUE(back) << T::kTypeName << ": " << back.error().message;
      ASSERT_NE(back->template get<T>(), nullptr) << T::kTypeName;
      EXPECT_TRUE(same(*back->template get<T>(), msg)) << T::kTypeName;
    }
  });
}

// decode() falls back to the generic decoder whenever the streaming one declines, so the
// agreement tests alone would pass with a streaming decoder that always declined. It must take
// every type the encoder writes, itself.
TEST(Vocabulary, TheStreamingDecoderTakesEveryTypeItself) {
  for_each_message([](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (int seed = 0; seed < 2; ++seed) {
      const T msg = sample<T>(seed);
      Envelope sent = envelope_of(msg);
      sent.correlation_id = seed == 0 ? 0 : 77;  // with and without the optional header keys
      if (seed == 1) sent.reply_to = Topic::from_trusted("_reply.test");
      std::string bytes;
      ASSERT_TRUE(encode(sent, bytes));
      Envelope fast;
      ASSERT_TRUE(detail::stream_decode(bytes, fast)) << T::kTypeName << " was declined";
      ASSERT_NE(fast.template get<T>(), nullptr);
      EXPECT_TRUE(same(*fast.template get<T>(), msg)) << T::kTypeName;
      EXPECT_EQ(fast.correlation_id, sent.correlation_id);
      EXPECT_EQ(fast.reply_to, sent.reply_to);
      std::string again;
      ASSERT_TRUE(encode(fast, again));
      EXPECT_EQ(again, bytes) << T::kTypeName;
    }
  });
  // A raw payload is the generic decoder's: the streaming one declines it.
  Envelope raw = envelope_of(model::PriceUpdate{});
  raw.payload = Payload::make(RawMessage{"custom_metric", std::string("\x81\xa1x\x01", 4)});
  std::string bytes;
  ASSERT_TRUE(encode(raw, bytes));
  Envelope out;
  EXPECT_FALSE(detail::stream_decode(bytes, out));
}

TEST(Vocabulary, EveryMessageTypeHasJsonWithEachDescribedField) {
  const auto types = describe_types();
  for_each_message([&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    auto line = to_json(envelope_of(sample<T>()));
    ASSERT_TRUE(line) << T::kTypeName << ": " << line.error().message;
    const auto v = boost::json::parse(*line);  // throws (and fails the test) if not JSON
    EXPECT_EQ(v.at("type").as_string(), T::kTypeName);
    const auto& payload = v.at("payload").as_object();
    const auto it = std::find_if(types.begin(), types.end(),
                                 [](const TypeInfo& t) { return t.name == T::kTypeName; });
    ASSERT_NE(it, types.end());
    EXPECT_EQ(payload.size(), it->fields.size()) << *line;
    for (const auto& f : it->fields) {
      ASSERT_TRUE(payload.contains(f.name)) << T::kTypeName << " lacks " << f.name;
      const auto& jv = payload.at(f.name);
      // Decimals are strings (exact), enums are names, timestamps integers.
      if (f.kind.starts_with("dec") || f.kind.starts_with("str") || f.kind.starts_with("enum")) {
        EXPECT_TRUE(jv.is_string()) << f.name;
      }
      if (f.kind.starts_with("int")) EXPECT_TRUE(jv.is_int64()) << f.name;
      if (f.kind == "f64") EXPECT_TRUE(jv.is_double()) << f.name;
      if (f.kind.starts_with("array")) EXPECT_TRUE(jv.is_array()) << f.name;
    }
  });
}

TEST(Vocabulary, JsonShowsDecimalsEnumsAndNumbersAsPeopleReadThem) {
  model::OrderDenied d{.client_order_id = 7,
                       .symbol = core::Symbol::from_trusted("AAPL"),
                       .reason = model::DenyReason::kMaxOrderNotional,
                       .value = 125000.5,
                       .limit = std::numeric_limits<double>::quiet_NaN(),
                       .ts_event = 3};
  auto line = to_json(envelope_of(d));
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(R"("payload":{"client_order_id":7,"symbol":"AAPL",)"
                       R"("reason":"max_order_notional","value":125000.5,"limit":null,)"
                       R"("modify":false,"ts_event":3})"),
            std::string::npos)
      << *line;
  model::Fill f = sample<model::Fill>();
  f.price = *core::Price::from_string("189.1250");
  line = to_json(envelope_of(f));
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(R"("price":"189.1250")"), std::string::npos) << *line;
}

TEST(Vocabulary, HotMessagesTravelInsideTheEnvelope) {
  for (const auto& t : describe_types()) {
    // Arrays, and the hub's answers with long text (rare: one per request).
    const bool heap = t.name == "feature_update" || t.name == "factor_exposures" ||
                      t.name == "factor_calculation" || t.name == "factor_returns" ||
                      t.name == "bar_history" || t.name == "reference_data" ||
                      t.name == "reference_history" || t.name == "universe_members" ||
                      t.name == "request_failed" || t.name == "portfolio_books";
    if (heap) {
      EXPECT_EQ(t.inline_size, 0u) << t.name;
    } else {
      EXPECT_GT(t.inline_size, 0u) << t.name << " should be inline";
      EXPECT_LE(t.inline_size, kInlinePayloadSize) << t.name;
    }
  }
}

TEST(Vocabulary, FieldsAreMatchedByNameInAnyOrderAndUnknownOnesIgnored) {
  // A feature_update written in the reverse of our order, with unknown keys (a scalar and an
  // array) mixed in, as a Python client might send it.
  Mp p;
  p.map(7).str("values").arr(2).f64(1.5).nil().str("extra_list").arr(1).str("x");
  p.str("names").arr(2).str("sma20").str("rsi14").str("ts_event").uint(11);
  p.str("note").str("ignored").str("interval_s").uint(300).str("symbol").str("MSFT");
  const auto bytes = envelope_with("feature_update", p.b);
  Envelope fast;
  EXPECT_TRUE(detail::stream_decode(bytes, fast)) << "any order is still the streaming decoder's";
  for (const auto& r : {decode(bytes), decode_generic(bytes)}) {
    ASSERT_TRUE(r) << r.error().message;
    const auto* f = r->get<model::FeatureUpdate>();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->symbol.value(), "MSFT");
    EXPECT_EQ(f->interval_s, 300u);
    ASSERT_EQ(f->names.size(), 2u);
    EXPECT_EQ(f->names[1].view(), "rsi14");
    ASSERT_EQ(f->values.size(), 2u);
    EXPECT_EQ(f->values[0], 1.5);
    EXPECT_TRUE(std::isnan(f->values[1])) << "nil reads as NaN (no value yet)";
  }
}

// Both decoders must give this exact error.
void expect_error(const std::string& bytes, std::string_view message) {
  for (const auto& r : {decode(bytes), decode_generic(bytes)}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::ErrorCode::kDecode);
    EXPECT_EQ(r.error().message, message);
  }
}

TEST(Vocabulary, AMissingOrMistypedFieldIsAnErrorNamingTypeAndField) {
  // margin_update without maintenance_margin (a key longer than v1's 14-character limit).
  Mp missing;
  missing.map(6).str("method").str("reg_t").str("equity").str("100").str("initial_margin");
  missing.str("50").str("excess_liquidity").str("75").str("utilisation").f64(0.25);
  missing.str("ts_event").uint(1);
  expect_error(envelope_with("margin_update", missing.b),
               "margin_update: missing field 'maintenance_margin'");

  Mp wrong;
  wrong.map(7).str("method").str("reg_t").str("equity").str("100").str("initial_margin");
  wrong.str("50").str("maintenance_margin").f64(25).str("excess_liquidity").str("75");
  wrong.str("utilisation").f64(0.25).str("ts_event").uint(1);
  expect_error(envelope_with("margin_update", wrong.b),
               "margin_update: field 'maintenance_margin' is not a string");

  Mp bad_enum;
  bad_enum.map(7).str("method").str("cash").str("equity").str("100").str("initial_margin");
  bad_enum.str("50").str("maintenance_margin").str("25").str("excess_liquidity").str("75");
  bad_enum.str("utilisation").f64(0.25).str("ts_event").uint(1);
  expect_error(envelope_with("margin_update", bad_enum.b),
               "margin_update.method: must be one of reg_t|portfolio");

  Mp bad_item;
  bad_item.map(5).str("symbol").str("A").str("interval_s").uint(60).str("ts_event").uint(1);
  bad_item.str("names").arr(1).str("x").str("values").arr(2).f64(1).str("two");
  expect_error(envelope_with("feature_update", bad_item.b),
               "feature_update.values: item 1 is not a number");

  Mp too_long;
  too_long.map(5).str("symbol").str("A").str("model").str(std::string(24, 'm'));
  too_long.str("kind").str("ridge").str("value").f64(1).str("ts_event").uint(1);
  too_long.b[0] = static_cast<char>(0x87);
  too_long.str("horizon_s").uint(60).str("probability").nil();
  expect_error(envelope_with("prediction", too_long.b),
               "prediction.model: string of 24 bytes is longer than 23");

  Mp narrow;  // interval_s is 32 bits
  narrow.map(8).str("symbol").str("A").str("open").str("1").str("high").str("1");
  narrow.str("low").str("1").str("close").str("1").str("volume").str("1");
  narrow.str("interval_s").uint(1ULL << 32).str("ts_event").uint(1);
  expect_error(envelope_with("bar", narrow.b),
               "bar: field 'interval_s' is not an unsigned 32-bit integer");
}

TEST(Vocabulary, NanAndInfinitiesSurviveMessagePackAndAreNullInJson) {
  model::VpinUpdate v = sample<model::VpinUpdate>();
  v.cdf = std::numeric_limits<double>::quiet_NaN();
  v.vpin = std::numeric_limits<double>::infinity();
  v.buy_volume = -std::numeric_limits<double>::infinity();
  std::string bytes;
  ASSERT_TRUE(encode(envelope_of(v), bytes));
  auto back = decode(bytes);
  ASSERT_TRUE(back);
  const auto* b = back->get<model::VpinUpdate>();
  EXPECT_TRUE(std::isnan(b->cdf));
  EXPECT_EQ(b->vpin, std::numeric_limits<double>::infinity());
  EXPECT_EQ(b->buy_volume, -std::numeric_limits<double>::infinity());
  auto line = to_json(*back);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(R"("vpin":null,"cdf":null,"buy_volume":null)"), std::string::npos) << *line;
}

TEST(Vocabulary, MessagesWrittenByWireV1StillDecode) {
  // fuzz/corpus/codec/v1-*: bytes the encoder wrote before messages were described (quote,
  // trade with its aggressor as a number, bar, raw), committed unchanged.
  const std::string dir = NAUTILUS_SOURCE_DIR "/fuzz/corpus/codec/";
  std::vector<std::string> types;
  for (int i = 0; i < 4; ++i) {
    std::ifstream in(dir + "v1-" + std::to_string(i), std::ios::binary);
    ASSERT_TRUE(in) << "v1-" << i;
    std::stringstream ss;
    ss << in.rdbuf();
    auto r = decode(ss.str());
    ASSERT_TRUE(r) << "v1-" << i << ": " << r.error().message;
    types.emplace_back(r->type_name() == "raw" ? "raw" : r->type_name());
    if (const auto* t = r->get<model::TradeTick>()) {
      EXPECT_EQ(t->aggressor, model::AggressorSide::kBuyer);
      EXPECT_EQ(t->price.to_string(), "99.5");
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"quote_tick", "trade_tick", "bar", "raw"}));
}

TEST(Vocabulary, WireFormatDocListsEveryTypeAsTheCodeDescribesIt) {
  std::ifstream in(NAUTILUS_SOURCE_DIR "/docs/WIRE_FORMAT.md");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string table = wire_types_markdown();
  EXPECT_NE(ss.str().find(table), std::string::npos)
      << "docs/WIRE_FORMAT.md is out of date: replace its payload-types table with the output "
         "of `nautilus messages`:\n"
      << table;
}

}  // namespace
}  // namespace nautilus::bus::codec
