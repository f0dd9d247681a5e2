// `nautilus bench loop`: the trading loop's hot paths, order to position, and the risk model.
//   risk.pretrade_p50_ns, risk.pretrade_p99_ns: risk::PreTrade::check, the whole chain of
//     pre-trade checks and the submit throttle, one call at a time over a stream of orders on
//     100 symbols with the risk engine's default limits (orders_per_s raised to 1e7), most
//     passing and a few denied; each call timed with the TSC (lfence/rdtsc ... rdtscp),
//     calibrated against steady_clock over the run, net of the timer's own median. The anchor
//     is that timer with nothing between its two reads (timer_floor_p50_ns, _p99_ns). Passing
//     orders are filled at once (outside the timing): Account::apply and PreTrade::on_fill.
//   risk.pretrade_uncapped_p50_ns, _p99_ns: the same without the gross and net exposure caps,
//     which add up every open position's market value on every order.
//   portfolio.fills_per_s: accounting::Account::apply over a generated stream of fills on 100
//     symbols (opens, adds, reduces, closes, flips), unique trade ids; anchor: the same stream
//     through the two containers any such books need, a trade-id set and a position map
//     (bare_books_fills_per_s).
//   portfolio.paper_fills_per_s: PaperExchange::submit of a market order, then the print that
//     fills it (on_print), then Account::apply of the fill: paper execution without the bus.
//   loop.orders_per_s: order.new.<sym> (NewOrder) -> the risk engine's thread (PreTrade::check,
//     then risk.order.<sym>) -> the portfolio engine's thread (a Fill at the last price on
//     portfolio.fill.<sym>, applied to its Account) -> the risk engine's thread again (its own
//     Account and PreTrade::on_fill); engines on mailbox threads as the engine host runs them,
//     the strategy (this thread) keeping at most 4,096 orders in flight; anchor: the same
//     topics, threads and messages with handlers that only pass them on (bus_hops_only).
//   loop.inline_orders_per_s: the same chain with every subscription inline (one thread).
//   Two switches, for finding where the loop's time goes (off for the recorded figures):
//   NAUTILUS_BENCH_LOOP_NO_EXPOSURE_CAPS=1 (the loop's gate without the gross and net caps) and
//   NAUTILUS_BENCH_LOOP_TOPIC_HANDLES=1 (topics resolved once per symbol, not formatted per
//   publish as the engines do).
//   risk.mc_var_*: var_bench.hpp.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_loop_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
