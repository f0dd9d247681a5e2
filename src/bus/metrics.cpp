#include "nautilus/bus/metrics.hpp"

#include <fmt/format.h>

#include <bit>

namespace nautilus::bus {

std::size_t LatencyHistogram::bucket_of(std::uint64_t v) noexcept {
  constexpr std::uint64_t kSub = 1u << kSubBits;
  if (v < kSub) return static_cast<std::size_t>(v);
  const int msb = 63 - std::countl_zero(v);
  const int shift = msb - kSubBits;
  const std::uint64_t sub = (v >> shift) & (kSub - 1);
  return static_cast<std::size_t>((static_cast<std::uint64_t>(shift) + 1) * kSub + sub);
}

std::uint64_t LatencyHistogram::bucket_upper(std::size_t b) noexcept {
  constexpr std::size_t kSub = 1u << kSubBits;
  if (b < kSub) return b;
  const std::size_t shift = b / kSub - 1;
  const std::uint64_t lower = static_cast<std::uint64_t>(kSub + b % kSub) << shift;
  return lower + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::int64_t ns) noexcept {
  const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
  auto& c = buckets_[bucket_of(v)];
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    const auto n = other.buckets_[i].load(std::memory_order_relaxed);
    if (n)
      buckets_[i].store(buckets_[i].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  if (other.max() > max()) max_.store(other.max(), std::memory_order_relaxed);
}

void LatencyHistogram::reset() noexcept {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

std::uint64_t LatencyHistogram::count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
  return n;
}

double LatencyHistogram::percentile(double q) const noexcept {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  if (q < 0) q = 0;
  if (q > 1) q = 1;
  // Rank of the q-quantile sample (1-based, nearest-rank definition).
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.999999999);
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return static_cast<double>(bucket_upper(i));
  }
  return static_cast<double>(max());
}

std::uint64_t BusMetrics::total_published() const noexcept {
  std::uint64_t n = 0;
  for (const auto& r : families) n += r.published;
  return n;
}
std::uint64_t BusMetrics::total_delivered() const noexcept {
  std::uint64_t n = 0;
  for (const auto& r : families) n += r.delivered;
  return n;
}
std::uint64_t BusMetrics::total_dropped() const noexcept {
  std::uint64_t n = 0;
  for (const auto& r : families) n += r.dropped;
  return n;
}

std::string BusMetrics::to_prometheus() const {
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, auto field) {
    out += fmt::format("# HELP nautilus_bus_{}_total {}\n# TYPE nautilus_bus_{}_total counter\n",
                       name, help, name);
    for (const auto& r : families) {
      out += fmt::format("nautilus_bus_{}_total{{family=\"{}\",priority=\"{}\"}} {}\n", name,
                         r.family, to_string(r.priority), r.*field);
    }
  };
  counter("published", "Messages published.", &FamilyRow::published);
  counter("delivered", "Messages handed to a subscriber's handler.", &FamilyRow::delivered);
  counter("dropped", "Messages refused by a full subscriber queue.", &FamilyRow::dropped);
  counter("conflated", "Messages replaced by a newer one on the same topic.",
          &FamilyRow::conflated);

  out +=
      "# HELP nautilus_bus_queue_depth Messages waiting in a mailbox lane.\n"
      "# TYPE nautilus_bus_queue_depth gauge\n";
  for (const auto& m : mailboxes) {
    for (std::size_t p = 0; p < kPriorityCount; ++p) {
      out += fmt::format("nautilus_bus_queue_depth{{mailbox=\"{}\",priority=\"{}\"}} {}\n", m.name,
                         to_string(static_cast<Priority>(p)), m.depth[p]);
    }
  }
  out +=
      "# HELP nautilus_bus_discarded_total Queued messages whose subscription was cancelled.\n"
      "# TYPE nautilus_bus_discarded_total counter\n";
  for (const auto& m : mailboxes) {
    out += fmt::format("nautilus_bus_discarded_total{{mailbox=\"{}\"}} {}\n", m.name, m.discarded);
  }

  out +=
      "# HELP nautilus_bus_latency_seconds Publish to handler start, queued deliveries.\n"
      "# TYPE nautilus_bus_latency_seconds summary\n";
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    out += fmt::format("nautilus_bus_latency_seconds{{quantile=\"{}\"}} {:.9f}\n", q,
                       latency.percentile(q) * 1e-9);
  }
  out += fmt::format("nautilus_bus_latency_seconds_count {}\n", latency.count());

  auto gauge = [&](std::string_view name, std::string_view type, std::string_view help,
                   std::uint64_t v) {
    out += fmt::format("# HELP nautilus_bus_{} {}\n# TYPE nautilus_bus_{} {}\nnautilus_bus_{} {}\n",
                       name, help, name, type, name, v);
  };
  gauge("topics", "gauge", "Concrete topics resolved.", topics);
  gauge("subscriptions", "gauge", "Active pattern subscriptions.", subscriptions);
  gauge("endpoints", "gauge", "Registered point-to-point endpoints.", endpoints);
  gauge("pending_requests", "gauge", "Requests awaiting a response.", pending_requests);
  gauge("request_timeouts_total", "counter", "Requests that timed out.", request_timeouts);
  gauge("handler_errors_total", "counter", "Handlers that threw.", handler_errors);
  gauge("critical_dropped_total", "counter",
        "FLASH_CRASH/URGENT messages refused after waiting their bound.", critical_dropped);
  return out;
}

}  // namespace nautilus::bus
