// RedisRunner (sweep_queue.hpp): a batch of a sweep's backtests as jobs on the jobs stream, then
// their results gathered from the sweep's own results stream, each job answered once.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/core/process.hpp"
#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::sweep_queue {

using bus_redis::RedisClient;
using bus_redis::RedisReply;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kBlock{1000};
constexpr std::chrono::seconds kLiveRefresh{5};
constexpr std::chrono::seconds kLiveTtl{60};
constexpr std::chrono::seconds kWaitingLine{15};

std::string new_sweep_id() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return fmt::format("{}-{}", core::host_and_pid(), ms);
}

core::Error server_error(std::string_view doing, const RedisReply& r) {
  return {core::ErrorCode::kIo, fmt::format("sweep queue: {}: {}", doing, r.str)};
}

}  // namespace

struct RedisRunner::Impl {
  QueueOptions options;
  std::string config_text, origin;
  std::vector<std::string> data;
  LogFn log;
  std::string sweep_id = new_sweep_id();
  std::string results_stream, live_key;
  std::optional<RedisClient> client;
  std::vector<std::string> job_entries;  // ids on the jobs stream, removed at the end
  std::set<std::string> answered;        // job ids, over every batch
  std::size_t batches = 0;
  SubmitStats stats;
  Clock::time_point live_refreshed{};

  void say(const std::string& line) const {
    if (log) log(line);
  }

  core::Result<RedisClient*> connection() {
    if (client && client->healthy()) return &*client;
    client.reset();
    auto c = RedisClient::connect(options.redis, std::chrono::seconds(2));
    if (!c) return std::unexpected(c.error());
    if (auto ok = c->set_timeout(kBlock + std::chrono::seconds(10)); !ok) {
      return std::unexpected(ok.error());
    }
    client.emplace(std::move(*c));
    return &*client;
  }

  // The key workers look for before they start a job of this sweep, and the results stream's
  // expiry: both outlive a submitter that dies by at most kLiveTtl.
  core::Result<void> refresh_live(RedisClient& c) {
    const std::string ttl = std::to_string(std::chrono::milliseconds(kLiveTtl).count());
    auto r = c.pipeline({{"SET", live_key, "1", "PX", ttl}, {"PEXPIRE", results_stream, ttl}});
    if (!r) return std::unexpected(r.error());
    if (r->front().is_error()) return std::unexpected(server_error("SET " + live_key, r->front()));
    live_refreshed = Clock::now();
    return {};
  }

  // The results stream, empty (workers answer with XADD NOMKSTREAM: only into a live sweep).
  core::Result<void> make_results(RedisClient& c) {
    auto added = c.command({"XADD", results_stream, "*", "open", "1"});
    if (!added) return std::unexpected(added.error());
    if (added->is_error()) return std::unexpected(server_error("XADD " + results_stream, *added));
    auto deleted = c.command({"XDEL", results_stream, added->str});
    if (!deleted) return std::unexpected(deleted.error());
    return {};
  }

  core::Result<void> post(RedisClient& c, const std::vector<backtest::SweepTask*>& tasks,
                          std::map<std::string, backtest::SweepTask*>& by_id) {
    auto group = c.command({"XGROUP", "CREATE", options.stream, options.group, "0", "MKSTREAM"});
    if (!group) return std::unexpected(group.error());
    if (group->is_error() && !group->is_error("BUSYGROUP")) {
      return std::unexpected(server_error("XGROUP CREATE " + options.stream, *group));
    }
    if (auto ok = make_results(c); !ok) return ok;
    if (auto ok = refresh_live(c); !ok) return ok;
    std::vector<std::string> payloads;
    for (std::size_t n = 0; n < tasks.size(); ++n) {
      Job job{.id = fmt::format("{}/{}.{}", sweep_id, batches, n),
              .sweep = sweep_id,
              .results = results_stream,
              .config = config_text,
              .origin = origin,
              .data = data,
              .settings = tasks[n]->settings,
              .report = tasks[n]->wants_report()};
      by_id.emplace(job.id, tasks[n]);
      payloads.push_back(encode_job(job));
    }
    bus_redis::StreamWriter writer(c, options.stream, {});
    for (std::size_t i = 0; i < payloads.size(); i += 256) {
      std::vector<std::string> chunk(
          payloads.begin() + static_cast<std::ptrdiff_t>(i),
          payloads.begin() + static_cast<std::ptrdiff_t>(std::min(payloads.size(), i + 256)));
      auto ids = writer.append(chunk, sweep_id);
      if (!ids) return std::unexpected(ids.error());
      job_entries.insert(job_entries.end(), ids->begin(), ids->end());
    }
    stats.jobs += tasks.size();
    return {};
  }

  // One result entry: [id, [field, value, ...]].
  void take(const RedisReply& entry, std::map<std::string, backtest::SweepTask*>& open,
            const backtest::TaskDone& done) {
    const std::string& id = entry.elements[0].str;
    const RedisReply* r = nullptr;
    const RedisReply* report = nullptr;
    const auto& fields = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == "r") r = &fields[i + 1];
      if (fields[i].str == "report") report = &fields[i + 1];
    }
    if (r == nullptr) {
      ++stats.malformed;
      say(fmt::format("result {} on {}: no field 'r'; ignored", id, results_stream));
      return;
    }
    auto res = decode_result(r->str);
    if (!res) {
      ++stats.malformed;
      say(fmt::format("result {} on {}: {}; ignored", id, results_stream, res.error().message));
      return;
    }
    if (answered.contains(res->job)) {
      ++stats.duplicates;
      say(fmt::format("job {} answered again (by {}, attempt {}); the first answer stands",
                      res->job, res->worker, res->attempt));
      return;
    }
    const auto it = open.find(res->job);
    if (it == open.end()) {
      ++stats.malformed;
      say(fmt::format("result {} on {}: job '{}' is not one of this sweep's; ignored", id,
                      results_stream, res->job));
      return;
    }
    backtest::SweepTask& task = *it->second;
    auto& run = task.result;  // index, values and window stay the submitter's own
    run.metrics = std::move(res->run.metrics);
    run.fills = res->run.fills;
    run.events = res->run.events;
    run.final_nav = res->run.final_nav;
    run.wall_s = res->run.wall_s;
    run.error = std::move(res->run.error);
    run.error_code = res->run.error_code;
    backtest::BacktestReport rep;
    if (run.error.empty() && report != nullptr) {
      rep.json = report->str;
      rep.metrics = run.metrics;
      rep.fills = run.fills;
      rep.events = run.events;
      rep.final_nav = run.final_nav;
      rep.wall_s = run.wall_s;
    }
    answered.insert(res->job);
    open.erase(it);
    done(task, rep);
  }

  core::Result<void> run(const std::vector<backtest::SweepTask*>& tasks,
                         const backtest::TaskDone& done) {
    ++batches;
    std::map<std::string, backtest::SweepTask*> open;
    {
      NAUTILUS_TRY(c, connection());
      if (auto ok = post(*c, tasks, open); !ok) return ok;
    }
    say(fmt::format("{} backtests queued on {} ({}:{}), sweep {}", tasks.size(), options.stream,
                    options.redis.host, options.redis.port, sweep_id));
    const std::size_t answered_before = answered.size();
    std::string last = "0";
    auto progressed = Clock::now();
    auto said = Clock::now();
    while (!open.empty()) {
      auto c = connection();
      core::Result<RedisReply> reply = std::unexpected(core::Error{});
      if (c) {
        reply = (*c)->command({"XREAD", "COUNT", "8", "BLOCK", std::to_string(kBlock.count()),
                               "STREAMS", results_stream, last});
      } else {
        reply = std::unexpected(c.error());
      }
      if (!reply) {
        // Redis away: what was queued and answered is still there when it is back.
        say(fmt::format("redis {}:{}: {}; retrying", options.redis.host, options.redis.port,
                        reply.error().message));
        std::this_thread::sleep_for(std::chrono::seconds(1));
      } else if (reply->is_error()) {
        return std::unexpected(server_error("XREAD " + results_stream, *reply));
      } else if (reply->type == RedisReply::Type::kArray) {
        std::vector<std::string> read;
        for (const auto& s : reply->elements) {
          if (s.elements.size() != 2) continue;
          for (const auto& e : s.elements[1].elements) {
            if (e.elements.size() != 2) continue;
            last = e.elements[0].str;
            read.push_back(last);
            const std::size_t before = open.size();
            take(e, open, done);
            if (open.size() != before) progressed = Clock::now();
          }
        }
        if (!read.empty()) {  // read once, kept nowhere else: the stream holds only the unread
          std::vector<std::string> xdel{"XDEL", results_stream};
          xdel.insert(xdel.end(), read.begin(), read.end());
          (void)(*c)->command(xdel);
        }
      }
      const auto now = Clock::now();
      if (now - live_refreshed > kLiveRefresh) {
        if (auto cc = connection(); cc) (void)refresh_live(**cc);
      }
      if (options.result_timeout.count() > 0 && now - progressed > options.result_timeout) {
        return core::fail(
            core::ErrorCode::kTimeout,
            fmt::format("sweep queue: no result for {} ms with {} of {} backtests unanswered: is "
                        "a `nautilus worker` running against {}:{}?",
                        options.result_timeout.count(), open.size(), tasks.size(),
                        options.redis.host, options.redis.port));
      }
      if (now - progressed > kWaitingLine && now - said > kWaitingLine) {
        said = now;
        say(fmt::format("waiting for workers: {} of {} backtests answered",
                        answered.size() - answered_before, tasks.size()));
      }
    }
    return {};
  }

  void clean_up() {
    if (job_entries.empty() && !client) return;  // nothing was ever queued
    if (!connection()) return;                   // what is left expires (kLiveTtl)
    std::vector<std::vector<std::string>> cmds{{"DEL", live_key, results_stream}};
    for (std::size_t i = 0; i < job_entries.size(); i += 512) {
      std::vector<std::string> xdel{"XDEL", options.stream};
      for (std::size_t j = i; j < std::min(job_entries.size(), i + 512); ++j) {
        xdel.push_back(job_entries[j]);
      }
      cmds.push_back(std::move(xdel));
    }
    (void)client->pipeline(cmds);
  }
};

RedisRunner::RedisRunner(QueueOptions options, std::string config_text, std::string origin,
                         std::vector<std::string> data, LogFn log)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->config_text = std::move(config_text);
  impl_->origin = std::move(origin);
  for (auto& d : data) {
    std::error_code ec;
    const auto abs = std::filesystem::absolute(d, ec);
    impl_->data.push_back(ec ? d : abs.lexically_normal().string());
  }
  impl_->log = std::move(log);
  impl_->results_stream = impl_->options.stream + ":results:" + impl_->sweep_id;
  impl_->live_key = impl_->options.stream + ":live:" + impl_->sweep_id;
}

RedisRunner::~RedisRunner() { impl_->clean_up(); }

backtest::SweepRunner RedisRunner::runner() {
  return [impl = impl_.get()](const backtest::SweepSpec&,
                              const std::vector<backtest::SweepTask*>& tasks,
                              const backtest::TaskDone& done) { return impl->run(tasks, done); };
}

const std::string& RedisRunner::sweep_id() const noexcept { return impl_->sweep_id; }

SubmitStats RedisRunner::stats() const { return impl_->stats; }

}  // namespace nautilus::sweep_queue
