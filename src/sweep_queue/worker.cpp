// run_worker (sweep_queue.hpp): jobs from the consumer group, a dead worker's first (XAUTOCLAIM),
// each run here with its claim kept fresh from a second connection, its result written before
// it is acknowledged: a worker that dies between the two makes the job run again, and the
// submitter keeps the first answer.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "nautilus/bus_redis/redis_client.hpp"
#include "nautilus/bus_redis/streams.hpp"
#include "nautilus/core/process.hpp"
#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::sweep_queue {
namespace {

using bus_redis::RedisClient;
using bus_redis::RedisReply;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kBlock{1000};

std::string default_name() { return core::host_and_pid(); }

class Worker {
 public:
  Worker(const WorkerOptions& o, const std::atomic<bool>& stop)
      : o_(o), q_(o.queue), stop_(stop), name_(o.name.empty() ? default_name() : o.name) {}

  core::Result<WorkerStats> run() {
    if (q_.stream.empty() || q_.group.empty()) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        "worker: the jobs stream and the group must be named");
    }
    if (q_.claim_idle < milliseconds(100)) {
      return core::fail(core::ErrorCode::kInvalidArgument,
                        "worker: claim_idle must be at least 100 ms");
    }
    say(fmt::format("worker {}: taking jobs from {} ({}:{}), group {}", name_, q_.stream,
                    q_.redis.host, q_.redis.port, q_.group));
    auto idle_since = Clock::now();
    milliseconds backoff{200};
    while (!stop_ && !(o_.max_jobs > 0 && stats_.jobs >= o_.max_jobs)) {
      report();
      if (!client_ || !client_->healthy()) {
        if (!connect()) {
          std::this_thread::sleep_for(backoff);
          backoff = std::min(backoff * 2, milliseconds(1000));  // stop is seen within a second
          continue;
        }
        backoff = milliseconds(200);
      }
      auto got = next_job();
      if (!got) {
        redis_lost(got.error());
        continue;
      }
      if (!*got) {
        if (o_.idle_exit.count() > 0 && Clock::now() - idle_since > o_.idle_exit) {
          say(fmt::format("worker {}: no job for {} ms; exiting", name_, o_.idle_exit.count()));
          break;
        }
        continue;
      }
      if (auto ok = handle(**got); !ok) redis_lost(ok.error());
      idle_since = Clock::now();
    }
    leave_group();
    // This thread no longer reads Redis: /health must not count it as connected.
    if (o_.progress) o_.progress(stats_, false);
    return stats_;
  }

 private:
  void say(const std::string& line) const {
    if (o_.log) o_.log(line);
  }
  void report() const {
    if (o_.progress) o_.progress(stats_, client_ && client_->healthy());
  }

  bool connect() {
    auto c = RedisClient::connect(q_.redis, std::chrono::seconds(2));
    if (c) {
      if (auto ok = c->set_timeout(kBlock + std::chrono::seconds(10)); ok) {
        client_.emplace(std::move(*c));
        reader_.emplace(*client_, q_.stream, q_.group, name_);
        if (auto g = reader_->ensure_group("0"); g) {
          if (outage_) say(fmt::format("worker {}: redis is back", name_));
          outage_ = false;
          return true;
        } else {
          c = std::unexpected(g.error());
        }
      } else {
        c = std::unexpected(ok.error());
      }
    }
    reader_.reset();
    client_.reset();
    if (!outage_) {
      ++stats_.redis_errors;
      say(fmt::format("worker {}: {}; retrying", name_, c.error().message));
    }
    outage_ = true;
    return false;
  }

  void redis_lost(const core::Error& e) {
    ++stats_.redis_errors;
    say(fmt::format("worker {}: {}; reconnecting", name_, e.message));
    reader_.reset();
    client_.reset();
  }

  // A dead worker's job first, then a new one; nothing after a second's wait.
  core::Result<std::optional<bus_redis::StreamEntry>> next_job() {
    NAUTILUS_TRY(claimed, reader_->claim(q_.claim_idle, 1));
    if (!claimed.empty()) {
      ++stats_.claimed;
      return std::optional(std::move(claimed.front()));
    }
    NAUTILUS_TRY(read, reader_->read(1, kBlock));
    if (read.empty()) return std::optional<bus_redis::StreamEntry>{};
    return std::optional(std::move(read.front()));
  }

  core::Result<void> ack(const std::string& id) {
    auto n = reader_->ack(std::vector<std::string>{id});
    if (!n) return std::unexpected(n.error());
    return {};
  }

  core::Result<void> answer(const Job& job, const Result& r, const std::string& report) {
    const std::string text = encode_result(r);
    // NOMKSTREAM: the submitter made the stream; once it is gone (the sweep is over, or its
    // submitter died and the stream expired) the answer goes nowhere instead of making it anew.
    std::vector<std::string_view> cmd{"XADD", job.results, "NOMKSTREAM", "*", "r", text};
    if (!report.empty()) {
      cmd.emplace_back("report");
      cmd.emplace_back(report);
    }
    auto replies = client_->pipeline_views({cmd});
    if (!replies) return std::unexpected(replies.error());
    if (replies->front().is_error()) {
      return core::fail(core::ErrorCode::kIo,
                        fmt::format("XADD {}: {}", job.results, replies->front().str));
    }
    if (replies->front().type == RedisReply::Type::kNil) {
      ++stats_.abandoned;
      say(fmt::format("worker {}: job {}: its sweep is over; result not sent", name_, job.id));
    }
    return {};
  }

  // Acknowledged and deleted: a job of a sweep that is gone is nobody's any more.
  core::Result<void> drop(const std::string& id) {
    if (auto ok = ack(id); !ok) return ok;
    auto r = client_->command({"XDEL", q_.stream, id});
    if (!r) return std::unexpected(r.error());
    return {};
  }

  core::Result<void> handle(const bus_redis::StreamEntry& entry) {
    if (entry.malformed || entry.batch) {
      ++stats_.malformed;
      say(
          fmt::format("worker {}: entry {} on {} is not a job (no field 'd'); acknowledged and "
                      "dropped",
                      name_, entry.id, q_.stream));
      return ack(entry.id);
    }
    auto job = decode_job(entry.data);
    if (!job) {
      ++stats_.malformed;
      say(fmt::format("worker {}: entry {} on {}: {}; acknowledged and dropped", name_, entry.id,
                      q_.stream, job.error().message));
      return ack(entry.id);
    }
    Result r{.job = job->id, .worker = name_, .attempt = entry.deliveries, .run = {}};
    if (entry.deliveries > q_.max_attempts) {
      ++stats_.given_up;
      r.run.error = fmt::format(
          "given up after {} attempts: the workers that took it stopped before it finished",
          entry.deliveries - 1);
      say(fmt::format("worker {}: job {}: {}", name_, job->id, r.run.error));
      if (auto ok = answer(*job, r, {}); !ok) return ok;
      ++stats_.jobs;
      ++stats_.failed;
      return ack(entry.id);
    }
    auto live = client_->command({"EXISTS", q_.stream + ":live:" + job->sweep});
    if (!live) return std::unexpected(live.error());
    if (live->type == RedisReply::Type::kInteger && live->integer == 0) {
      ++stats_.abandoned;
      say(
          fmt::format("worker {}: job {}: its sweep is no longer waiting (the submitter is "
                      "gone); dropped",
                      name_, job->id));
      return drop(entry.id);
    }
    say(fmt::format("worker {}: job {} started (attempt {})", name_, job->id, entry.deliveries));
    const auto t0 = Clock::now();
    std::string report_json;
    auto spec = backtest::load_sweep_spec_text(job->config, job->origin, job->data);
    if (!spec) {
      r.run.error = spec.error().message;
      r.run.error_code = spec.error().code;
    } else {
      backtest::SweepTask task{.settings = job->settings, .result = {}, .context = {}};
      std::atomic<bool> cancel{false};
      bool handed_back = false;
      std::string lost_to;  // set by the keeper when another worker holds the job now
      {
        std::jthread keeper([&](std::stop_token st) { keep_claim(st, entry.id, cancel, lost_to); });
        auto report = backtest::run_task(*spec, task, &cancel);
        keeper.request_stop();
        keeper.join();
        if (cancel && stop_) handed_back = true;
        if (report && job->report) report_json = std::move(report->json);
      }
      if (!lost_to.empty()) {
        ++stats_.taken_over;
        say(
            fmt::format("worker {}: job {} was taken over by {} while this worker stalled; "
                        "stopped here, its result is the other's",
                        name_, job->id, lost_to));
        return {};
      }
      if (handed_back) {
        hand_back(entry.id);
        say(fmt::format("worker {}: job {} stopped and handed back", name_, job->id));
        return {};
      }
      r.run = std::move(task.result);
    }
    // A stall can also come after the keeper's last look: answer only a job still ours (the
    // submitter counts one answer per job anyway, should another slip through).
    if (auto owner = client_ ? renew(*client_, entry.id) : core::Result<std::string>("");
        owner && !owner->empty()) {
      ++stats_.taken_over;
      say(
          fmt::format("worker {}: job {} was taken over by {} before it finished here; its "
                      "result is the other's",
                      name_, job->id, *owner));
      return {};
    }
    if (auto ok = answer(*job, r, report_json); !ok) return ok;
    if (auto ok = ack(entry.id); !ok) return ok;
    ++stats_.jobs;
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r.run.error.empty()) {
      say(fmt::format("worker {}: job {} done in {:.2f} s ({} fills)", name_, job->id, s,
                      r.run.fills));
    } else {
      ++stats_.failed;
      say(fmt::format("worker {}: job {} failed: {}", name_, job->id, r.run.error));
    }
    return {};
  }

  // Renews this worker's claim on entry `id` if it still holds it, in one step (a script, so
  // that no XAUTOCLAIM lands between the check and the XCLAIM). Empty when renewed; else who
  // holds it now, "(acknowledged)" when nobody does. An error when Redis did not answer (the
  // claim then simply is not renewed this time; nobody else can take it either).
  core::Result<std::string> renew(RedisClient& c, const std::string& id) const {
    static constexpr std::string_view kScript = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 then return '(acknowledged)' end
if p[1][2] ~= ARGV[2] then return p[1][2] end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return ''
)lua";
    auto r = c.command({"EVAL", std::string(kScript), "1", q_.stream, q_.group, name_, id});
    if (!r) return std::unexpected(r.error());
    if (r->is_error()) return core::fail(core::ErrorCode::kIo, "renewing a claim: " + r->str);
    return r->str;
  }

  // While the backtest runs: the claim renewed (XCLAIM to itself resets the entry's idle time,
  // so no XAUTOCLAIM takes it), on a connection of its own; `stop` turned into a cancel. A job
  // another worker has taken meanwhile (this one stalled past claim_idle: a paused VM, a
  // SIGSTOP) is not taken back: the renewal would steal it and both would run it to the end.
  // The run is cancelled instead and `lost_to` set; the other worker's result is the job's.
  void keep_claim(const std::stop_token& st, const std::string& id, std::atomic<bool>& cancel,
                  std::string& lost_to) {
    std::optional<RedisClient> c;
    const auto every = std::max(milliseconds(50), q_.claim_idle / 4);
    auto next = Clock::now();
    while (!st.stop_requested()) {
      if (stop_) cancel = true;
      if (Clock::now() >= next) {
        next = Clock::now() + every;
        if (!c || !c->healthy()) {
          auto cc = RedisClient::connect(q_.redis, std::chrono::seconds(2));
          if (cc) c.emplace(std::move(*cc));
        }
        if (c) {
          auto owner = renew(*c, id);
          if (owner && !owner->empty()) {
            lost_to = *owner;
            cancel = true;
            return;
          }
        }
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  // A job this worker will not finish, made to look long idle so the next XAUTOCLAIM takes it.
  void hand_back(const std::string& id) {
    if (!client_ || !client_->healthy()) return;  // it goes stale by itself
    (void)client_->command({"XCLAIM", q_.stream, q_.group, name_, "0", id, "IDLE",
                            std::to_string(q_.claim_idle.count() * 2), "JUSTID"});
  }

  // A worker with nothing pending leaves the group's consumer list (one with a pending entry
  // stays, or XGROUP DELCONSUMER would drop the entry).
  void leave_group() {
    if (!client_ || !client_->healthy()) return;
    auto p = client_->command({"XPENDING", q_.stream, q_.group, "-", "+", "1", name_});
    if (p && p->type == RedisReply::Type::kArray && p->elements.empty()) {
      (void)client_->command({"XGROUP", "DELCONSUMER", q_.stream, q_.group, name_});
    }
  }

  const WorkerOptions& o_;
  const QueueOptions& q_;
  const std::atomic<bool>& stop_;
  std::string name_;
  std::optional<RedisClient> client_;
  std::optional<bus_redis::GroupReader> reader_;
  WorkerStats stats_;
  bool outage_ = false;
};

}  // namespace

core::Result<WorkerStats> run_worker(const WorkerOptions& options, const std::atomic<bool>& stop) {
  Worker w(options, stop);
  return w.run();
}

}  // namespace nautilus::sweep_queue
