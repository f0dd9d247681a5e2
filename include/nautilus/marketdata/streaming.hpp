// The hub's live streaming sources: Binance's public trade stream (no key) and Interactive
// Brokers' Client Portal WebSocket (level-1 quotes and last trades). A LiveStream is one
// connection to one source for many symbols, on its own thread: it reconnects with capped,
// jittered exponential backoff after a drop, a failed connect or a stall, resubscribes every
// symbol, drops duplicates and reports gaps (docs/MARKET_DATA.md, "Live streaming sources").
//
//   auto s = marketdata::LiveStream::start(
//       {.kind = "binance", .url = "wss://stream.binance.com:9443/ws", .symbols = {"BTCUSDT"}},
//       clock, [&](const marketdata::Record& r) { publish(r); });   // on the stream's thread
//   if (!s) return s.error();
//   (void)(*s)->subscribe("ETHUSDT");
//   auto st = (*s)->status();   // connected, reconnects, duplicates, gaps, last error...
//
// The decoders are plain functions of one frame (benchmarks and the fuzz target call them):
//
//   std::vector<model::TradeTick> trades;
//   auto n = marketdata::decode_binance_frame(frame, trades);   // trades appended, or an error
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nautilus/core/clock.hpp"
#include "nautilus/core/error.hpp"
#include "nautilus/marketdata/csv.hpp"
#include "nautilus/model/market_data.hpp"

namespace nautilus::marketdata {

// ---- Decoders ------------------------------------------------------------------------------

enum class FrameKind : std::uint8_t {
  kData,         // market data (possibly no event: an update that changed nothing published)
  kControl,      // a reply to a request, a session or status message
  kHeartbeat,    // the server's keep-alive
  kServerError,  // the service refused a request or the session; `message` has its words
  kIgnored,      // well-formed but not for us: another event type, a contract not watched
};
[[nodiscard]] std::string_view to_string(FrameKind k) noexcept;

struct FrameInfo {
  FrameKind kind = FrameKind::kData;
  std::size_t events = 0;      // records appended to the output
  std::size_t duplicates = 0;  // IBKR: updates dropped as already applied (by `_updated`)
  std::int64_t id = -1;        // Binance: the request id a reply answers
  std::string message;         // kServerError: what the service said
};

// A Binance spot trade-stream frame: a raw trade (`/ws`: {"e":"trade","E":..,"s":"BTCUSDT",
// "t":..,"p":"..","q":"..","T":..,"m":true,"M":true}), the same inside a combined-stream frame
// (`/stream`: {"stream":"btcusdt@trade","data":{...}}), a reply ({"result":null,"id":1}) or an
// error reply ({"error":{"code":2,"msg":".."},"id":1}). A trade keeps the symbol as Binance
// spells it, price and size exactly as written, trade_id = t, ts_event = T (ms) in ns, and the
// aggressor: m (the buyer is the maker) means the seller took liquidity. Unknown keys are
// skipped; anything not valid JSON of that shape is an error naming what is wrong. No
// allocation on a trade beyond `out` growing.
[[nodiscard]] core::Result<FrameInfo> decode_binance(std::string_view frame,
                                                     std::vector<model::TradeTick>& out);
// The same for benchmarks: the trades appended (0 for a reply); an error reply is an error.
[[nodiscard]] core::Result<std::size_t> decode_binance_frame(std::string_view frame,
                                                             std::vector<model::TradeTick>& out);

// Interactive Brokers Client Portal frames: `smd+<conid>` market data ({"topic":"smd+265598",
// "conid":265598,"_updated":1712596911593,"31":"168.42","84":"168.41","86":"168.43",
// "85":"600","88":"1,300","7059":"100",...}), and the `system`, `sts` and other unsolicited
// topics. IBKR sends only the fields that changed, so the decoder keeps the last known values
// per contract: a QuoteTick once bid and ask are known and one of the quote fields (84 bid,
// 86 ask, 88 bid size, 85 ask size) came, a TradeTick when a last price (31) or size (7059)
// came. Values may carry thousands separators; a last price prefixed "C" (the previous close)
// or "H" (trading halted) is no trade. IBKR has no trade id: updates whose `_updated` was
// already applied are dropped as duplicates. Trades carry trade_id 0 and no aggressor.
class IbkrDecoder {
 public:
  struct Book {  // what is known of one contract
    core::Symbol symbol;
    std::optional<core::Price> bid, ask, last;
    std::optional<core::Quantity> bid_size, ask_size, last_size;
    std::int64_t updated = -1;        // `_updated` (ms) of the newest frame applied
    std::int64_t trade_updated = -1;  // `_updated` of the last trade published
  };

  // Frames of `conid` are published under `symbol` (its known values are kept on a re-watch).
  void watch(std::uint64_t conid, core::Symbol symbol);
  void forget(std::uint64_t conid);
  [[nodiscard]] const Book* book(std::uint64_t conid) const;

  // QuoteTick and TradeTick records are appended to `out`. A frame of a contract not watched
  // is kIgnored.
  [[nodiscard]] core::Result<FrameInfo> decode(std::string_view frame, std::vector<Record>& out);

 private:
  std::unordered_map<std::uint64_t, Book> books_;
};

// The contract id of a Client Portal `conidex` ("265598" or "265598@NASDAQ").
[[nodiscard]] core::Result<std::uint64_t> parse_conid(std::string_view conidex);

// ---- LiveStream ----------------------------------------------------------------------------

// Trades or time the stream missed. Binance: trade ids are consecutive per symbol, so a jump
// is `missing` trades, first_missing..last_missing. IBKR: the connection was down from..to
// (the injected clock); symbol is empty and missing is 0.
struct StreamGap {
  core::Symbol symbol;
  std::uint64_t first_missing = 0;
  std::uint64_t last_missing = 0;
  std::uint64_t missing = 0;
  core::UnixNanos from = 0;
  core::UnixNanos to = 0;
};

struct LiveStreamOptions {
  std::string kind;  // "binance" or "ibkr"
  // binance: wss://stream.binance.com:9443/ws; ibkr: wss://localhost:5000/v1/api/ws
  std::string url;
  std::string ca_file;               // extra trusted CAs (the IBKR gateway's own certificate)
  std::vector<std::string> symbols;  // subscribed at start
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds stall_timeout{30'000};  // no frame nor ping that long: reconnect
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{10'000};
  std::uint64_t seed = 42;  // the backoff's jitter
  std::size_t max_symbols = 200;
  std::size_t max_pending_control = 256;  // subscribe/unsubscribe not yet sent
  std::size_t max_frame_bytes = std::size_t{1} << 20;
  // Least time between control messages; default 250 ms for Binance (it allows 5 a second and
  // disconnects above), none for IBKR.
  std::optional<std::chrono::milliseconds> control_interval;
  std::chrono::milliseconds tic_interval{60'000};  // ibkr: "tic" keeps the session alive
  // ibkr: smd subscriptions end after 10 minutes, so each is renewed this often (0: never).
  std::chrono::milliseconds resubscribe_every{9 * 60'000};
  std::string ibkr_session;  // ibkr: sent as {"session":"..."} after connecting, when set
  // ibkr: the conid (or conid@EXCHANGE) of a symbol; called by subscribe() on its caller.
  std::function<core::Result<std::string>(std::string_view symbol)> resolve_conid;
  std::function<void(const StreamGap&)> on_gap;  // on the stream's thread
  std::string user_agent = "nautilus/0.1";
};

struct LiveStreamStatus {
  std::string kind;
  std::string url;
  bool connected = false;
  std::uint64_t connects = 0;          // connections made
  std::uint64_t reconnects = 0;        // connections made after the first
  std::uint64_t connect_failures = 0;  // attempts that failed
  std::uint64_t drops = 0;             // connections the server closed or lost
  std::uint64_t stalls = 0;            // connections given up for silence
  std::uint64_t frames = 0;
  std::uint64_t trades = 0;  // published
  std::uint64_t quotes = 0;  // published
  std::uint64_t control_frames = 0;
  std::uint64_t heartbeats = 0;
  std::uint64_t ignored = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;
  std::uint64_t missing_trades = 0;  // Binance
  std::int64_t downtime_ns = 0;      // disconnected after the first connect (injected clock)
  std::uint64_t decode_errors = 0;
  std::uint64_t server_errors = 0;
  std::uint64_t sink_errors = 0;  // the sink threw
  std::uint64_t control_sent = 0;
  std::chrono::milliseconds last_backoff{0};
  std::string last_error;
  core::UnixNanos connected_since = 0;
  core::UnixNanos last_frame_at = 0;
  std::vector<std::string> symbols;  // subscribed, in the order given
};

using StreamSink = std::function<void(const Record&)>;

class LiveStream {
 public:
  // Checks the options (kind, url, timeouts, symbols) and starts the stream's thread, which
  // connects at once. The clock stamps status and gaps; the waits on sockets are real time.
  [[nodiscard]] static core::Result<std::unique_ptr<LiveStream>> start(LiveStreamOptions options,
                                                                       const core::Clock& clock,
                                                                       StreamSink sink);
  LiveStream(const LiveStream&) = delete;
  LiveStream& operator=(const LiveStream&) = delete;
  // Stops and joins the thread within about 100 ms, whatever the connection is doing.
  ~LiveStream();

  // Binance symbols are upper-cased ("btcusdt" is BTCUSDT). kAlreadyExists, kCapacity
  // (max_symbols, or max_pending_control), kInvalidArgument for a bad symbol; IBKR: the
  // resolve_conid error.
  [[nodiscard]] core::Result<void> subscribe(std::string_view symbol);
  [[nodiscard]] core::Result<void> unsubscribe(std::string_view symbol);  // kNotFound
  [[nodiscard]] LiveStreamStatus status() const;

  struct Impl;

 private:
  explicit LiveStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nautilus::marketdata
