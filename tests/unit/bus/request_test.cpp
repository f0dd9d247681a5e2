// Point-to-point endpoints and request/response with correlation ids and timeouts.
#include <gtest/gtest.h>

#include <future>

#include "nautilus/bus/message_bus.hpp"
#include "test_messages.hpp"

namespace nautilus::bus {
namespace {

using testing::Tick;

struct Requests : ::testing::Test {
  core::SimulatedClock clock{1'000};
  MessageBus bus{{.clock = &clock, .request_timer_thread = false}};
  Publisher client = *bus.publisher("strategy");
  Publisher server = *bus.publisher("risk");
};

TEST_F(Requests, EndpointGetsPointToPointMessagesOnly) {
  int endpoint_calls = 0, wildcard_calls = 0;
  ASSERT_TRUE(bus.register_endpoint("risk.check", [&](const Envelope&) { ++endpoint_calls; }));
  (void)bus.subscribe("*", [&](const Envelope&) { ++wildcard_calls; });
  auto ep = *bus.endpoint("risk.check");
  EXPECT_EQ(client.publish(ep, Tick{}).reached(), 1u);
  EXPECT_EQ(endpoint_calls, 1);
  EXPECT_EQ(wildcard_calls, 0);
  auto again = bus.register_endpoint("risk.check", [](const Envelope&) {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
}

TEST_F(Requests, ReplyCarriesTheCorrelationIdBack) {
  (void)bus.register_endpoint("risk.check", [&](const Envelope& req) {
    ASSERT_FALSE(req.reply_to.empty());
    ASSERT_TRUE(server.reply(req, Tick{req.get<Tick>()->n * 2}));
  });
  auto ep = *bus.endpoint("risk.check");
  std::vector<core::Result<Envelope>> replies;
  auto id = client.request(ep, Tick{21}, std::chrono::seconds(1),
                           [&](core::Result<Envelope> r) { replies.push_back(std::move(r)); });
  ASSERT_TRUE(id);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(replies[0]);
  EXPECT_EQ(replies[0]->correlation_id, *id);
  EXPECT_EQ(replies[0]->get<Tick>()->n, 42);
  EXPECT_EQ(replies[0]->source.value(), "risk");
  EXPECT_EQ(bus.metrics().pending_requests, 0u);
}

TEST_F(Requests, ReplyFromAnotherEngineThread) {
  core::RealtimeClock rt;
  MessageBus live({.clock = &rt});
  auto mb = live.create_mailbox({.name = "risk"});
  auto responder = *live.publisher("risk");
  (void)live.register_endpoint(
      "risk.check",
      [&](const Envelope& req) { (void)responder.reply(req, Tick{req.get<Tick>()->n + 1}); },
      {.mailbox = mb});
  MailboxThread risk_thread(mb);
  auto requester = *live.publisher("strategy");
  auto ep = *live.endpoint("risk.check");
  std::promise<std::int64_t> answer;
  ASSERT_TRUE(requester.request(
      ep, Tick{9}, std::chrono::seconds(5),
      [&](core::Result<Envelope> r) { answer.set_value(r ? r->get<Tick>()->n : -1); }));
  auto f = answer.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), 10);
}

TEST_F(Requests, UnansweredRequestTimesOutOnTheBusClock) {
  (void)bus.register_endpoint("risk.check", [](const Envelope&) {});  // never replies
  auto ep = *bus.endpoint("risk.check");
  std::optional<core::Result<Envelope>> outcome;
  ASSERT_TRUE(client.request(ep, Tick{}, std::chrono::milliseconds(5),
                             [&](core::Result<Envelope> r) { outcome = std::move(r); }));
  clock.advance(std::chrono::milliseconds(4));
  EXPECT_EQ(bus.expire_requests(), 0u);
  EXPECT_FALSE(outcome);
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(bus.expire_requests(), 1u);
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().code, core::ErrorCode::kTimeout);
  EXPECT_EQ(bus.metrics().request_timeouts, 1u);
}

TEST_F(Requests, TimerThreadExpiresRealTimeRequests) {
  MessageBus live;
  (void)live.register_endpoint("slow", [](const Envelope&) {});
  auto p = *live.publisher("cli");
  auto ep = *live.endpoint("slow");
  std::promise<core::ErrorCode> code;
  ASSERT_TRUE(p.request(ep, Tick{}, std::chrono::milliseconds(10), [&](core::Result<Envelope> r) {
    code.set_value(r ? core::ErrorCode::kInternal : r.error().code);
  }));
  auto f = code.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), core::ErrorCode::kTimeout);
}

TEST_F(Requests, RequestToNobodyFailsAtOnce) {
  auto ep = *bus.endpoint("nobody.home");
  bool called = false;
  auto r = client.request(ep, Tick{}, std::chrono::seconds(1),
                          [&](core::Result<Envelope>) { called = true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
  EXPECT_FALSE(called);
  EXPECT_EQ(bus.metrics().pending_requests, 0u);
}

TEST_F(Requests, ReplyingToANonRequestIsAnError) {
  Envelope plain;
  auto r = server.reply(plain, Tick{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(Requests, UnservedEndpointsGoToTheRemoteForwarderAndServedOnesStayLocal) {
  std::vector<Envelope> forwarded;
  auto fwd = bus.forward_unserved_endpoints([&](const Envelope& e) { forwarded.push_back(e); },
                                            {.local_only = true});
  ASSERT_TRUE(fwd);
  int local_calls = 0;
  ASSERT_TRUE(bus.register_endpoint("risk.check", [&](const Envelope&) { ++local_calls; }));
  auto served = *bus.endpoint("risk.check");
  auto remote = *bus.endpoint("marketdata.history");  // served by another process
  // A request to a remote endpoint no longer fails at once: it leaves through the forwarder,
  // marked as an endpoint message, with this bus's reply endpoint.
  auto id = client.request(remote, Tick{1}, std::chrono::seconds(1), [](core::Result<Envelope>) {});
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_TRUE(forwarded[0].endpoint);
  EXPECT_EQ(forwarded[0].topic.value(), "marketdata.history");
  EXPECT_EQ(forwarded[0].reply_to, bus.reply_endpoint());
  // A served endpoint is answered here and never forwarded.
  EXPECT_EQ(client.publish(served, Tick{2}).reached(), 1u);
  EXPECT_EQ(local_calls, 1);
  EXPECT_EQ(forwarded.size(), 1u);
  // Topics are not endpoints: the forwarder never sees a publish.
  auto topic = *bus.topic("marketdata.history");
  client.publish(topic, Tick{3});
  EXPECT_EQ(forwarded.size(), 1u);
  // Messages a transport brought in are not sent back out (local_only).
  Envelope in = forwarded[0];
  in.remote = true;
  EXPECT_EQ(server.forward(remote, in).reached(), 0u);
  EXPECT_EQ(forwarded.size(), 1u);
  // Without the forwarder, a remote endpoint is unknown again.
  ASSERT_TRUE(bus.unsubscribe(*fwd));
  auto gone =
      client.request(remote, Tick{4}, std::chrono::seconds(1), [](core::Result<Envelope>) {});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(bus.metrics().endpoints, 2u);  // risk.check and the reply endpoint
}

TEST_F(Requests, AnEndpointServedAfterTheForwarderWasSetIsAnsweredLocally) {
  int forwarded = 0, local_calls = 0;
  ASSERT_TRUE(bus.forward_unserved_endpoints([&](const Envelope&) { ++forwarded; }));
  auto ep = *bus.endpoint("risk.check");
  client.publish(ep, Tick{1});
  EXPECT_EQ(forwarded, 1);
  auto reg = bus.register_endpoint("risk.check", [&](const Envelope&) { ++local_calls; });
  ASSERT_TRUE(reg);
  client.publish(ep, Tick{2});  // the same handle sees the change
  EXPECT_EQ(local_calls, 1);
  EXPECT_EQ(forwarded, 1);
  ASSERT_TRUE(bus.unsubscribe(*reg));
  client.publish(ep, Tick{3});  // unserved again: forwarded
  EXPECT_EQ(forwarded, 2);
}

}  // namespace
}  // namespace nautilus::bus
