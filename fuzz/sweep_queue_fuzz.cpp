// libFuzzer target for the sweep queue's jobs and results (src/sweep_queue/wire.cpp): any bytes
// a stream entry may hold. Property: decoding never crashes and never throws; a refusal names
// what is wrong; what is accepted encodes to text that decodes to the same thing again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nautilus/sweep_queue/sweep_queue.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nautilus::sweep_queue;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto job = decode_job(text); job) {
    auto again = decode_job(encode_job(*job));
    if (!again || again->id != job->id || again->config != job->config ||
        again->data != job->data || again->settings.size() != job->settings.size() ||
        again->report != job->report) {
      std::abort();
    }
  } else if (job.error().message.empty()) {
    std::abort();
  }
  if (auto r = decode_result(text); r) {
    auto again = decode_result(encode_result(*r));
    if (!again || again->job != r->job || again->run.fills != r->run.fills ||
        again->run.metrics.size() != r->run.metrics.size() || again->run.error != r->run.error) {
      std::abort();
    }
  } else if (r.error().message.empty()) {
    std::abort();
  }
  return 0;
}
