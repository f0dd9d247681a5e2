// Runs the fuzz target without libFuzzer (GCC builds, ctest): every file of the corpus, then
// seeded random mutations of them. `--write-seeds DIR` writes the codec seed corpus: one
// envelope per message type (fuzz/corpus/codec/<type>), plus a raw payload.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "nautilus/bus/codec.hpp"
#include "nautilus/model/messages.hpp"
#include "support/sample_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using namespace nautilus;

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  auto add = [&](bus::Payload p, bus::Priority prio, std::uint64_t corr) {
    bus::Envelope e;
    e.topic = bus::Topic::from_trusted("market_data.AAPL.quote");
    e.source = core::EngineId::from_trusted("marketdata");
    e.sequence = 42;
    e.ts_event = 1'700'000'000'000'000'000;
    e.ts_publish = e.ts_event + 1000;
    e.priority = prio;
    e.correlation_id = corr;
    if (corr) e.reply_to = bus::Topic::from_trusted("_reply.1.2");
    e.payload = std::move(p);
    std::string bytes;
    if (bus::codec::encode(e, bytes)) out.push_back(bytes);
  };
  // Every message type of the vocabulary, from its description, at a few priorities.
  int i = 0;
  boost::mp11::mp_for_each<boost::mp11::mp_transform<std::add_pointer_t, model::AllMessages>>(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        add(bus::Payload::make(testing_support::sample<T>(i % 2)),
            bus::kPrioritiesHighFirst[i % bus::kPriorityCount], i % 3 == 0 ? 7 : 0);
        ++i;
      });
  add(bus::Payload::make(bus::codec::RawMessage{"custom", std::string("\x92\x01\xa1z", 4)}),
      bus::Priority::kHigh, 0);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--write-seeds") {
    for (const auto& s : seeds()) {
      auto env = bus::codec::decode(s);
      const std::string name = env && env->get<bus::codec::RawMessage>() == nullptr
                                   ? std::string(env->type_name())
                                   : "raw";
      std::ofstream(std::string(argv[2]) + "/" + name, std::ios::binary) << s;
    }
    return 0;
  }
  std::vector<std::string> corpus = seeds();
  if (argc >= 2) {
    for (const auto& f : std::filesystem::directory_iterator(argv[1])) {
      std::ifstream in(f.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  const int mutations = argc >= 3 ? std::stoi(argv[2]) : 100000;
  std::mt19937_64 rng(20261123);
  std::size_t runs = 0;
  for (const auto& c : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(c.data()), c.size());
    ++runs;
  }
  for (int i = 0; i < mutations; ++i) {
    std::string m = corpus[rng() % corpus.size()];
    switch (rng() % 4) {
      case 0:
        if (!m.empty()) m[rng() % m.size()] = static_cast<char>(rng());
        break;
      case 1:
        m.resize(rng() % (m.size() + 1));
        break;
      case 2:
        m.insert(rng() % (m.size() + 1), 1, static_cast<char>(rng()));
        break;
      default:
        m += corpus[rng() % corpus.size()];
        break;
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(m.data()), m.size());
    ++runs;
  }
  std::printf("fuzz replay: %zu inputs, no crash, round-trip property held\n", runs);
  return 0;
}
