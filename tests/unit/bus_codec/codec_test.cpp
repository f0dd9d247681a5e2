#include "nautilus/bus/codec.hpp"

#include <gtest/gtest.h>

#include <random>

#include "nautilus/model/messages.hpp"
#include "support/msgpack_writer.hpp"

namespace nautilus::bus::codec {
namespace {

using core::Price;
using core::Quantity;
using core::Symbol;

Envelope header(Priority prio = Priority::kNormal) {
  Envelope e;
  e.topic = Topic::from_trusted("market_data.AAPL.trade");
  e.source = core::EngineId::from_trusted("marketdata");
  e.sequence = 123456789012ull;
  e.ts_event = 1'700'000'000'123'456'789;
  e.ts_publish = 1'700'000'000'123'999'000;
  e.priority = prio;
  return e;
}

void expect_same_header(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.topic, b.topic);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.ts_event, b.ts_event);
  EXPECT_EQ(a.ts_publish, b.ts_publish);
  EXPECT_EQ(a.correlation_id, b.correlation_id);
  EXPECT_EQ(a.reply_to, b.reply_to);
  EXPECT_EQ(a.priority, b.priority);
}

template <class T>
void round_trip(const T& msg, Priority prio = Priority::kNormal) {
  Envelope e = header(prio);
  e.payload = Payload::make(msg);
  std::string bytes;
  ASSERT_TRUE(encode(e, bytes));
  auto back = decode(bytes);
  ASSERT_TRUE(back) << back.error().to_string();
  expect_same_header(e, *back);
  ASSERT_NE(back->get<T>(), nullptr) << "decoded as " << back->type_name();
  EXPECT_EQ(*back->get<T>(), msg);
}

TEST(Codec, EveryModelTypeRoundTripsAtEveryPriority) {
  const model::QuoteTick q{Symbol::from_trusted("AAPL"),   *Price::from_string("189.10"),
                           *Price::from_string("189.125"), *Quantity::from_string("300"),
                           *Quantity::from_string("0.5"),  17};
  const model::TradeTick t{Symbol::from_trusted("BRK.B"),
                           *Price::from_string("-3.75"),
                           *Quantity::from_string("100"),
                           model::AggressorSide::kSeller,
                           UINT64_MAX,
                           -5};
  const model::Bar b{Symbol::from_trusted("ES=F"),
                     *Price::from_string("5000.25"),
                     *Price::from_string("5010"),
                     *Price::from_string("4990.5"),
                     *Price::from_string("5001.75"),
                     *Quantity::from_string("123456"),
                     60,
                     99};
  const model::PriceUpdate pu{Symbol::from_trusted("MSFT"), *Price::from_string("401.07"), 5};
  const model::VolumeUpdate vu{Symbol::from_trusted("MSFT"), *Quantity::from_string("1200"),
                               *Quantity::from_string("3400500"), 6};
  for (Priority p : kPrioritiesHighFirst) {
    round_trip(q, p);
    round_trip(t, p);
    round_trip(b, p);
    round_trip(pu, p);
    round_trip(vu, p);
  }
  EXPECT_EQ(known_types().size(), boost::mp11::mp_size<model::AllMessages>::value);
}

TEST(Codec, PreservesPrecisionOfDecimals) {
  Envelope e = header();
  e.payload = Payload::make(model::TradeTick{Symbol::from_trusted("X"), *Price::from_string("1.50"),
                                             *Quantity::from_string("2.000"),
                                             model::AggressorSide::kNone, 1, 1});
  std::string bytes;
  ASSERT_TRUE(encode(e, bytes));
  auto back = decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->get<model::TradeTick>()->price.to_string(), "1.50");
  EXPECT_EQ(back->get<model::TradeTick>()->size.to_string(), "2.000");
}

TEST(Codec, RequestFieldsAndUnknownTypesSurvive) {
  Envelope e = header();
  e.correlation_id = 77;
  e.reply_to = Topic::from_trusted("_reply.123.456");
  // "custom_metric" is not modelled by this build: it travels as raw MessagePack ({"x": 1}).
  e.payload = Payload::make(RawMessage{"custom_metric", std::string("\x81\xa1x\x01", 4)});
  std::string bytes;
  ASSERT_TRUE(encode(e, bytes));
  auto back = decode(bytes);
  ASSERT_TRUE(back) << back.error().to_string();
  expect_same_header(e, *back);
  ASSERT_NE(back->get<RawMessage>(), nullptr);
  EXPECT_EQ(back->get<RawMessage>()->type, "custom_metric");
  EXPECT_EQ(back->get<RawMessage>()->msgpack, std::string("\x81\xa1x\x01", 4));
  std::string again;
  ASSERT_TRUE(encode(*back, again));
  EXPECT_EQ(again, bytes);
}

struct Local {
  static constexpr std::string_view kTypeName = "local_only";
  int x;
};

TEST(Codec, EncodeRefusesPayloadsWithoutAWireFormat) {
  Envelope e = header();
  e.payload = Payload::make(Local{1});
  std::string bytes;
  auto r = encode(e, bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("local_only"), std::string::npos);
}

std::string valid_bytes() {
  Envelope e = header(Priority::kUrgent);
  e.payload = Payload::make(model::QuoteTick{
      Symbol::from_trusted("AAPL"), *Price::from_string("1.5"), *Price::from_string("1.6"),
      *Quantity::from_string("1"), *Quantity::from_string("2"), 3});
  std::string bytes;
  (void)encode(e, bytes);
  return bytes;
}

TEST(Codec, RejectsMalformedInputWithAReason) {
  EXPECT_EQ(decode("").error().code, core::ErrorCode::kDecode);
  EXPECT_EQ(decode("\xc1").error().code, core::ErrorCode::kDecode);              // never-used byte
  EXPECT_EQ(decode("\x93\x01\x02\x03").error().code, core::ErrorCode::kDecode);  // array
  const std::string ok = valid_bytes();
  EXPECT_EQ(decode(ok + "x").error().code, core::ErrorCode::kDecode);  // trailing garbage
  // Each missing field is named in the error.
  std::string no_topic = ok;
  const auto pos = no_topic.find("topic");
  no_topic[pos] = 'T';
  auto r = decode(no_topic);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'topic'"), std::string::npos) << r.error().message;
  // A newer wire version is refused as such.
  std::string v2 = ok;
  v2[v2.find("\xa1v") + 2] = 2;
  EXPECT_EQ(decode(v2).error().code, core::ErrorCode::kUnsupportedVersion);
  EXPECT_FALSE(decode(std::string(kMaxEncodedSize + 1, '\0')));
}

TEST(Codec, EveryTruncationAndRandomCorruptionIsAnErrorNotACrash) {
  const std::string ok = valid_bytes();
  for (std::size_t n = 0; n < ok.size(); ++n) {
    EXPECT_FALSE(decode(ok.substr(0, n))) << "prefix " << n;
  }
  std::mt19937 rng(7);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = ok;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      m[rng() % m.size()] = static_cast<char>(rng());
    }
    auto r = decode(m);
    if (r) {
      ++decoded;
      std::string re;
      (void)encode(*r, re);  // whatever decodes must encode again
    }
  }
  SUCCEED() << decoded << " corrupted inputs still decoded";
}

// decode() takes a streaming fast path and falls back to the generic decoder for anything
// unusual: both must give the same answer (the same envelope, or the same error).
void expect_agree(std::string_view bytes) {
  auto fast = decode(bytes);
  auto generic = decode_generic(bytes);
  ASSERT_EQ(fast.has_value(), generic.has_value());
  if (!fast) {
    EXPECT_EQ(fast.error().code, generic.error().code);
    EXPECT_EQ(fast.error().message, generic.error().message);
    return;
  }
  std::string a, b;
  ASSERT_TRUE(encode(*fast, a));
  ASSERT_TRUE(encode(*generic, b));
  EXPECT_EQ(a, b);
}

TEST(Codec, TheStreamingDecoderAgreesWithTheGenericOneOnCorruptedInput) {
  const std::string ok = valid_bytes();
  expect_agree(ok);
  for (std::size_t n = 0; n < ok.size(); ++n) expect_agree(ok.substr(0, n));
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string m = ok;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      m[rng() % m.size()] = static_cast<char>(rng());
    }
    expect_agree(m);
    if (HasFailure()) return;
  }
}

using testing_support::Mp;

// The envelope's fields in the reverse of our encoder's order, as another writer may send them.
Mp reversed_trade(unsigned extra_fields) {
  Mp m;
  m.map(10 + extra_fields);
  m.str("payload").map(6);
  m.str("ts_event").uint(5).str("trade_id").uint(9).str("aggressor").uint(1);
  m.str("size").str("2").str("price").str("1.25").str("symbol").str("AAPL");
  m.str("ts_pub").uint(8).str("ts_event").uint(7).str("seq").uint(3).str("src").str("py");
  m.str("prio").uint(2).str("type").str("trade_tick").str("topic").str("market_data.AAPL.trade");
  m.str("v").uint(1);
  return m;
}

TEST(Codec, FieldOrderAndUnknownFieldsDoNotMatter) {
  auto plain = reversed_trade(0);
  plain.str("corr").uint(0);  // the tenth field
  auto r = decode(plain.b);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sequence, 3u);
  ASSERT_NE(r->get<model::TradeTick>(), nullptr);
  EXPECT_EQ(r->get<model::TradeTick>()->price.to_string(), "1.25");
  expect_agree(plain.b);
  // A field this build does not know is ignored: a scalar, a nil, or a nested value (which
  // the streaming decoder leaves to the generic one).
  auto extra = reversed_trade(2);
  extra.str("corr").uint(0).str("trace").nil().str("hops").arr(2).str("a").map(1).str("k").uint(1);
  ASSERT_TRUE(decode(extra.b)) << decode(extra.b).error().message;
  expect_agree(extra.b);
}

TEST(Codec, BothDecodersKeepTheContainerLimits) {
  // A valid envelope with 1,100 extra (unknown) fields: over the 1,024-entry map limit.
  auto big = reversed_trade(0);
  big.str("corr").uint(0);
  big.b[0] = '\xde';                            // map16 header instead of fixmap(10)
  big.b.insert(1, std::string("\x04\x56", 2));  // 10 + 1100 = 1110 entries
  for (int i = 0; i < 1100; ++i) big.str("x" + std::to_string(i)).uint(1);
  EXPECT_FALSE(decode(big.b));
  expect_agree(big.b);
}

TEST(Codec, AFieldGivenTwiceIsAnError) {
  auto twice = reversed_trade(0);
  twice.str("seq").uint(4);  // seq again, instead of a tenth field
  auto r = decode(twice.b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'seq' given twice"), std::string::npos) << r.error().message;
  expect_agree(twice.b);
}

TEST(Codec, BatchesCarryManyEnvelopesAndReportEachOne) {
  std::vector<std::string> encoded;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    Envelope e = header();
    e.sequence = i;
    e.payload = Payload::make(
        model::TradeTick{Symbol::from_trusted("X"), *Price::from_string("1.5"),
                         *Quantity::from_string("2"), model::AggressorSide::kNone, i, 1});
    encoded.emplace_back();
    ASSERT_TRUE(encode(e, encoded.back()));
  }
  encoded.emplace_back("\x81\xa1v\x09");  // a map, but not an envelope: only this one fails
  std::string batch;
  encode_batch(encoded, batch);
  auto back = decode_batch(batch);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE((*back)[i]);
    EXPECT_EQ((*back)[i]->sequence, i + 1);
  }
  EXPECT_FALSE((*back)[3]);
  EXPECT_FALSE(decode_batch(encoded[0]));              // one envelope is not a batch
  EXPECT_FALSE(decode_batch("\xdd\xff\xff\xff\xff"));  // a huge array header, no elements
  // The streaming path reads the all-good batch itself; the generic one reports the same.
  encoded.pop_back();
  batch.clear();
  encode_batch(encoded, batch);
  auto fast = decode_batch(batch);
  auto generic = decode_batch_generic(batch);
  ASSERT_TRUE(fast && generic);
  ASSERT_EQ(fast->size(), generic->size());
  for (std::size_t i = 0; i < fast->size(); ++i) {
    std::string a, b;
    ASSERT_TRUE((*fast)[i] && (*generic)[i]);
    ASSERT_TRUE(encode(*(*fast)[i], a) && encode(*(*generic)[i], b));
    EXPECT_EQ(a, b);
  }
}

TEST(Codec, JsonLinesCarryTheWireFieldsEscaped) {
  Envelope e = header(Priority::kHigh);
  e.payload = Payload::make(RawMessage{"note", std::string("\x81\xa1t\xa3\x22\x0a\x5c", 7)});
  auto j = to_json(e);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(*j,
            "{\"v\":1,\"topic\":\"market_data.AAPL.trade\",\"type\":\"note\",\"prio\":2,"
            "\"src\":\"marketdata\",\"seq\":123456789012,\"ts_event\":1700000000123456789,"
            "\"ts_pub\":1700000000123999000,\"payload\":{\"t\":\"\\\"\\n\\\\\"}}");
}

}  // namespace
}  // namespace nautilus::bus::codec
