// A consumer process for the kill -9 test (redis_transport_test.cpp): one engine host on the
// given Redis buses, in consumer group `group` as consumer `consumer`, whose handler takes
// `handler_ms` per message and then appends the message's sequence number to `out` (flushed,
// so a kill -9 loses nothing it wrote). Runs until killed.
//
//   redis_slow_consumer <marketdata port> <logic port> <group> <consumer> <out file> <handler ms>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "nautilus/bus/message_bus.hpp"
#include "nautilus/bus_redis/transport.hpp"

int main(int argc, char** argv) {
  using namespace nautilus;
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s md_port logic_port group consumer out handler_ms\n", argv[0]);
    return 2;
  }
  config::BusConfig cfg;
  cfg.marketdata = {.port = static_cast<std::uint16_t>(std::atoi(argv[1]))};
  cfg.logic = cfg.main = {.port = static_cast<std::uint16_t>(std::atoi(argv[2]))};
  std::FILE* out = std::fopen(argv[5], "a");
  if (out == nullptr) return 2;
  const auto handler_time = std::chrono::milliseconds(std::atoi(argv[6]));
  bus::MessageBus bus;
  (void)bus.subscribe("strategy.*", [&](const bus::Envelope& e) {
    std::this_thread::sleep_for(handler_time);
    std::fprintf(out, "%llu\n", static_cast<unsigned long long>(e.sequence));
    std::fflush(out);
  });
  auto transport =
      bus_redis::RedisTransport::start(bus, {.config = cfg, .group = argv[3], .consumer = argv[4]});
  if (!transport) {
    std::fprintf(stderr, "%s\n", transport.error().message.c_str());
    return 1;
  }
  while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
}
