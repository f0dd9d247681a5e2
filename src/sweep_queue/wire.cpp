// The jobs' and results' JSON (sweep_queue.hpp). Both come off a Redis stream anyone can write
// to, so decoding checks every field's presence and type and names the one that is wrong.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "nautilus/core/json.hpp"
#include "nautilus/sweep_queue/sweep_queue.hpp"

namespace nautilus::sweep_queue {
namespace {

namespace json = boost::json;
constexpr std::int64_t kWireVersion = 1;
constexpr std::size_t kMaxText = 64u << 20;  // a config or a message longer than this is wrong

// Shortest text that reads back as the same double ("nan", "inf" included): Boost.JSON 1.81's
// parser is not always correctly rounded, and the summary must rank the worker's own numbers.
std::string double_text(double x) { return fmt::format("{}", x); }

std::unexpected<core::Error> bad(std::string_view what, std::string_view field,
                                 std::string_view why) {
  return std::unexpected(
      core::Error{core::ErrorCode::kDecode, fmt::format("{}: field '{}' {}", what, field, why)});
}

struct Fields {
  const json::object& o;
  std::string_view what;

  core::Result<const json::value*> get(std::string_view key) const {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return bad(what, key, "is missing");
    return v;
  }
  core::Result<std::string> text(std::string_view key) const {
    NAUTILUS_TRY(v, get(key));
    if (!v->is_string()) return bad(what, key, "must be a string");
    if (v->as_string().size() > kMaxText) return bad(what, key, "is too long");
    return std::string(v->as_string());
  }
  core::Result<std::uint64_t> count(std::string_view key) const {
    NAUTILUS_TRY(v, get(key));
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    return bad(what, key, "must be a non-negative integer");
  }
  core::Result<double> number(std::string_view key) const {
    NAUTILUS_TRY(s, text(key));
    return parse_double(s, key);
  }
  core::Result<double> parse_double(const std::string& s, std::string_view key) const {
    double x = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc() || end != s.data() + s.size()) {
      return bad(what, key, fmt::format("is not a number: '{}'", s.substr(0, 40)));
    }
    return x;
  }
  core::Result<const json::array*> array(std::string_view key) const {
    NAUTILUS_TRY(v, get(key));
    if (!v->is_array()) return bad(what, key, "must be an array");
    return &v->as_array();
  }
};

core::Result<json::object> parse_object(std::string_view text, std::string_view what) {
  if (text.size() > kMaxText) {
    return core::fail(core::ErrorCode::kDecode,
                      fmt::format("{}: {} bytes, more than {}", what, text.size(), kMaxText));
  }
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    return core::fail(core::ErrorCode::kDecode,
                      fmt::format("{}: not JSON: {}", what, ec.message()));
  }
  if (!v.is_object()) {
    return core::fail(core::ErrorCode::kDecode, fmt::format("{}: not a JSON object", what));
  }
  const auto* version = v.as_object().if_contains("v");
  if (version == nullptr || !version->is_int64() || version->as_int64() != kWireVersion) {
    return core::fail(
        core::ErrorCode::kDecode,
        fmt::format("{}: field 'v' must be {} (the wire version)", what, kWireVersion));
  }
  return std::move(v.as_object());
}

}  // namespace

std::string encode_job(const Job& job) {
  json::array data;
  for (const auto& d : job.data) data.emplace_back(d);
  json::array settings;
  for (const auto& s : job.settings) {
    settings.push_back(
        json::array{json::value(s.engine), json::value(s.key), json::value(s.value)});
  }
  const json::object o{{"v", kWireVersion},       {"id", job.id},
                       {"sweep", job.sweep},      {"results", job.results},
                       {"config", job.config},    {"origin", job.origin},
                       {"data", std::move(data)}, {"settings", std::move(settings)},
                       {"report", job.report}};
  return core::to_json_text(o);
}

core::Result<Job> decode_job(std::string_view text) {
  NAUTILUS_TRY(o, parse_object(text, "job"));
  const Fields f{o, "job"};
  Job job;
  NAUTILUS_TRY(id, f.text("id"));
  NAUTILUS_TRY(sweep, f.text("sweep"));
  NAUTILUS_TRY(results, f.text("results"));
  NAUTILUS_TRY(config, f.text("config"));
  NAUTILUS_TRY(origin, f.text("origin"));
  if (id.empty()) return bad("job", "id", "is empty");
  if (results.empty()) return bad("job", "results", "is empty");
  job.id = std::move(id);
  job.sweep = std::move(sweep);
  job.results = std::move(results);
  job.config = std::move(config);
  job.origin = std::move(origin);
  NAUTILUS_TRY(data, f.array("data"));
  for (const auto& d : *data) {
    if (!d.is_string()) return bad("job", "data", "must hold strings (file paths)");
    job.data.emplace_back(d.as_string());
  }
  NAUTILUS_TRY(settings, f.array("settings"));
  for (const auto& s : *settings) {
    const auto* a = s.if_array();
    if (a == nullptr || a->size() != 3 || !(*a)[0].is_string() || !(*a)[1].is_string() ||
        !(*a)[2].is_string()) {
      return bad("job", "settings", "must hold [engine, key, value] string triples");
    }
    job.settings.push_back({.engine = std::string((*a)[0].as_string()),
                            .key = std::string((*a)[1].as_string()),
                            .value = std::string((*a)[2].as_string())});
  }
  NAUTILUS_TRY(report, f.get("report"));
  if (!report->is_bool()) return bad("job", "report", "must be true or false");
  job.report = report->as_bool();
  return job;
}

std::string encode_result(const Result& r) {
  json::object metrics;
  for (const auto& [k, v] : r.run.metrics) metrics[k] = double_text(v);
  const json::object o{{"v", kWireVersion},
                       {"job", r.job},
                       {"worker", r.worker},
                       {"attempt", r.attempt},
                       {"metrics", std::move(metrics)},
                       {"fills", r.run.fills},
                       {"events", r.run.events},
                       {"final_nav", double_text(r.run.final_nav)},
                       {"wall_s", double_text(r.run.wall_s)},
                       {"error", r.run.error},
                       {"error_code", static_cast<std::int64_t>(r.run.error_code)}};
  return core::to_json_text(o);
}

core::Result<Result> decode_result(std::string_view text) {
  NAUTILUS_TRY(o, parse_object(text, "result"));
  const Fields f{o, "result"};
  Result r;
  NAUTILUS_TRY(job, f.text("job"));
  if (job.empty()) return bad("result", "job", "is empty");
  r.job = std::move(job);
  NAUTILUS_TRY(worker, f.text("worker"));
  r.worker = std::move(worker);
  NAUTILUS_TRY(attempt, f.count("attempt"));
  r.attempt = attempt;
  NAUTILUS_TRY(metrics, f.get("metrics"));
  if (!metrics->is_object()) return bad("result", "metrics", "must be an object");
  for (const auto& [k, v] : metrics->as_object()) {
    if (!v.is_string()) return bad("result", "metrics", "must map names to number texts");
    NAUTILUS_TRY(x, f.parse_double(std::string(v.as_string()), "metrics"));
    r.run.metrics.emplace(std::string(k), x);
  }
  NAUTILUS_TRY(fills, f.count("fills"));
  NAUTILUS_TRY(events, f.count("events"));
  NAUTILUS_TRY(nav, f.number("final_nav"));
  NAUTILUS_TRY(wall, f.number("wall_s"));
  NAUTILUS_TRY(error, f.text("error"));
  NAUTILUS_TRY(code, f.count("error_code"));
  if (code > static_cast<std::uint64_t>(core::ErrorCode::kInternal)) {
    return bad("result", "error_code", "is not an error code");
  }
  r.run.fills = fills;
  r.run.events = events;
  r.run.final_nav = nav;
  r.run.wall_s = wall;
  r.run.error = std::move(error);
  r.run.error_code = static_cast<core::ErrorCode>(code);
  return r;
}

}  // namespace nautilus::sweep_queue
