// `switchboard sim`: replays a request trace against a simulated fleet with one or more balancers
// (sim/simulator.h) and reports prefix-cache hit rate, TTFT and end-to-end latency, throughput and
// load spread per balancer — as a table, JSON and an SVG plot.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/number_checks.h"
#include "sim/report.h"
#include "sim/simulator.h"
#include "sim/trace.h"

namespace switchboard::cli {
namespace {

// Bounds that keep the engine's microsecond clock (int64) far from overflowing: 1e308 µs per step
// wrapped to a negative busy time and 0 completions, and a time scale of 1e-13 pushed arrivals
// past the end of time (10 of 200 requests completed, exit 0).
constexpr double kMaxMicros = 1e9;  // per step, or per token: 1000 s
constexpr double kMinTimeScale = 1e-6, kMaxTimeScale = 1e6;

struct SimCliOptions {
  std::string trace;
  std::string balancers = "round_robin,random,least_outstanding,p2c,prefix_affinity";
  std::vector<std::string> balancer_opts;
  std::size_t replicas = 8;
  double time_scale = 0;
  double rate = 0;
  std::size_t limit = 0;
  std::string max_context;
  std::string json_out, svg_out;
  bool quiet = false;
  sim::EngineParams engine;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

// "32768x6,131072x2" or "32768,32768,..." -> one value per replica.
Result<std::vector<std::int64_t>> parse_max_context(const std::string& spec, std::size_t replicas) {
  std::vector<std::int64_t> out;
  for (const auto& part : split(spec, ',')) {
    auto x = part.find('x');
    try {
      // Digits only ("32768abc" and " 5" are refused, not read as 32768 and 5).
      const auto whole = [](std::string_view text) {
        const auto v = parse_whole(text, std::uint64_t{1} << 40);
        if (!v) throw std::invalid_argument("");
        return static_cast<std::int64_t>(*v);
      };
      std::int64_t value = whole(std::string_view(part).substr(0, x));
      std::int64_t count = x == std::string::npos ? 1 : whole(std::string_view(part).substr(x + 1));
      if (value < 0 || count <= 0) throw std::invalid_argument("");
      // No more entries than replicas (a count of 10^10 used to fill memory before the check).
      if (static_cast<std::uint64_t>(count) > replicas - std::min(replicas, out.size()))
        return make_error(
            ErrorKind::kBadRequest, "bad_option",
            fmt::format("--max-context lists more than the {} replicas of --replicas", replicas));
      for (std::int64_t i = 0; i < count; ++i) out.push_back(value);
    } catch (const std::exception&) {
      return make_error(ErrorKind::kBadRequest, "bad_option",
                        "--max-context: bad item '" + part + "' (TOKENS or TOKENSxCOUNT)");
    }
  }
  if (out.size() != replicas)
    return make_error(
        ErrorKind::kBadRequest, "bad_option",
        fmt::format("--max-context lists {} replicas, --replicas is {}", out.size(), replicas));
  return out;
}

bool write_file(const std::string& path, const std::string& text) {
  if (path == "-") {
    fmt::print("{}", text);
    return true;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    fmt::print(stderr, "switchboard sim: cannot write {}\n", path);
    return false;
  }
  return true;
}

int run_sim(const SimCliOptions& o) {
  auto fail = [](const std::string& msg) {
    fmt::print(stderr, "switchboard sim: {}\n", msg);
    return 2;
  };
  if (o.replicas == 0 || o.replicas > 4096) return fail("--replicas must be between 1 and 4096");
  if (o.time_scale > 0 && o.rate > 0) return fail("give --time-scale or --rate, not both");
  if (o.engine.block_tokens <= 0 || o.engine.kv_tokens < o.engine.block_tokens ||
      o.engine.max_batch <= 0 || o.engine.chunk_tokens <= 0 || !(o.engine.step_us >= 0) ||
      !(o.engine.prefill_us_per_token >= 0) || !(o.engine.attention_us_per_ktok >= 0) ||
      !(o.engine.decode_us_per_ktok >= 0))  // NaN compares false: written to fail
    return fail("engine parameters must be positive (and --kv-tokens at least one block)");
  // The outputs must not overwrite the trace or each other (the JSON was lost under the SVG).
  const auto same = [](const std::string& a, const std::string& b) {
    if (a.empty() || b.empty()) return false;
    if (a == "-" || b == "-") return a == b;
    std::error_code ec;
    return std::filesystem::equivalent(a, b, ec) ||
           std::filesystem::absolute(a, ec).lexically_normal() ==
               std::filesystem::absolute(b, ec).lexically_normal();
  };
  if (same(o.json_out, o.trace) || same(o.svg_out, o.trace))
    return fail("--json and --svg must not name the trace " + o.trace);
  if (same(o.json_out, o.svg_out)) return fail("--json and --svg name the same output");
  auto trace = sim::load_trace(o.trace, o.limit);
  if (!trace) return fail(trace.error().message);
  if (trace->format == "mooncake" && o.engine.block_tokens != 512)
    return fail("Mooncake traces hash 512-token blocks; --block-tokens must stay 512");
  trace->block_tokens = o.engine.block_tokens;

  sim::SimOptions opts;
  opts.engine = o.engine;
  opts.replicas = o.replicas;
  if (!o.max_context.empty()) {
    auto mc = parse_max_context(o.max_context, o.replicas);
    if (!mc) return fail(mc.error().message);
    opts.max_context = *mc;
  }
  double span_s = static_cast<double>(trace->requests.back().arrival_us) / 1e6;
  opts.time_scale = o.time_scale > 0 ? o.time_scale : 1;
  if (o.rate > 0) {
    if (span_s <= 0) return fail("--rate needs a trace whose arrivals span some time");
    opts.time_scale = o.rate / (static_cast<double>(trace->requests.size()) / span_s);
    if (!(opts.time_scale >= kMinTimeScale && opts.time_scale <= kMaxTimeScale))
      return fail(fmt::format("--rate {} scales the trace's arrivals by {:g}, outside [{:g}, {:g}] "
                              "(its times would overflow or vanish)",
                              o.rate, opts.time_scale, kMinTimeScale, kMaxTimeScale));
  }

  // Options per balancer: NAME.KEY=VALUE.
  std::map<std::string, YAML::Node> options;
  for (const auto& kv : o.balancer_opts) {
    auto dot = kv.find('.');
    auto eq = kv.find('=');
    if (dot == std::string::npos || eq == std::string::npos || eq < dot)
      return fail("--balancer-opt wants NAME.KEY=VALUE, got '" + kv + "'");
    std::string name = kv.substr(0, dot), key = kv.substr(dot + 1, eq - dot - 1);
    YAML::Node& node = options[name];
    if (!node.IsMap()) node["type"] = name;
    try {
      node[key] = YAML::Load(kv.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      return fail("--balancer-opt " + kv + ": not a value (" + e.msg + ")");
    }
  }

  sim::Report report;
  report.trace_path = o.trace;
  report.trace_format = trace->format;
  report.requests = trace->requests.size();
  report.trace_seconds = span_s;
  report.options = opts;
  const auto names = split(o.balancers, ',');
  if (names.empty()) return fail("--balancer needs one or more balancer names, comma-separated");
  for (const auto& name : names) {
    YAML::Node node = options.count(name) ? options[name] : YAML::Node();
    if (name == "prefix_affinity" && !(node.IsMap() && node["cache_blocks"])) {
      // The index models each replica's cache: by default exactly as large as the simulated one.
      if (!node.IsMap()) node["type"] = name;
      node["cache_blocks"] = o.engine.kv_tokens / o.engine.block_tokens;
    }
    auto run = sim::simulate(*trace, opts, name, node);
    if (!run) return fail(run.error().message);
    if (!o.quiet)
      fmt::print(stderr, "{}: {} requests simulated in {:.1f} s\n", name, run->requests.size(),
                 run->wall_s);
    report.runs.push_back(std::move(*run));
  }
  for (const auto& [name, _] : options) {
    bool used = false;
    for (const auto& run : report.runs) used = used || run.balancer == name;
    if (!used) return fail("--balancer-opt names '" + name + "', which is not in --balancer");
  }
  if (o.json_out != "-") fmt::print("{}", sim::report_text(report));
  if (!o.json_out.empty() && !write_file(o.json_out, json_text(sim::report_json(report)) + "\n"))
    return 1;
  if (!o.svg_out.empty() && !write_file(o.svg_out, sim::report_svg(report))) return 1;
  return 0;
}

const CommandRegistrar kSim(
    "sim", "Replay a request trace against a simulated fleet of replicas, per balancer",
    [](CLI::App& app) {
      auto o = std::make_shared<SimCliOptions>();
      app.add_option("--trace", o->trace, "Mooncake JSONL or Azure LLM CSV trace")->required();
      app.add_option("--replicas", o->replicas, "replicas in the fleet")
          ->capture_default_str()
          ->check(whole_number());
      app.add_option("--balancer", o->balancers, "comma-separated balancers to compare")
          ->capture_default_str();
      app.add_option("--balancer-opt", o->balancer_opts,
                     "a balancer option, NAME.KEY=VALUE (repeatable)");
      app.add_option("--time-scale", o->time_scale,
                     "divide arrival times by this (2 = twice the trace's rate)")
          ->check(finite_number(true) & CLI::Range(kMinTimeScale, kMaxTimeScale));
      app.add_option("--rate", o->rate, "scale arrivals to this many requests per second")
          ->check(finite_number(true));
      app.add_option("--limit", o->limit, "only the first N requests")->check(whole_number());
      app.add_option("--max-context", o->max_context,
                     "per-replica max context, e.g. 32768x6,131072x2");
      app.add_option("--json", o->json_out,
                     "write the JSON report here ('-' = stdout, instead of the table)");
      app.add_option("--svg", o->svg_out, "write an SVG plot here");
      app.add_flag("--quiet", o->quiet, "no progress lines on stderr");
      auto& e = o->engine;
      app.add_option("--block-tokens", e.block_tokens, "tokens per KV block (Mooncake: 512)")
          ->capture_default_str();
      app.add_option("--kv-tokens", e.kv_tokens, "KV-cache capacity per replica, tokens")
          ->capture_default_str();
      app.add_option("--max-batch", e.max_batch, "requests running at once per replica")
          ->capture_default_str();
      app.add_option("--chunk-tokens", e.chunk_tokens, "prefill tokens per step")
          ->capture_default_str();
      app.add_option("--step-us", e.step_us, "fixed time per step, µs")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, kMaxMicros));
      app.add_option("--prefill-us-per-token", e.prefill_us_per_token, "prefill time per token, µs")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, kMaxMicros));
      app.add_option("--attention-us-per-ktok", e.attention_us_per_ktok,
                     "extra prefill time per token per 1000 tokens of context before it, µs")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, kMaxMicros));
      app.add_option("--decode-us-per-ktok", e.decode_us_per_ktok,
                     "decode time per running request per 1000 tokens of its context, µs")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, kMaxMicros));
      return [o] { return run_sim(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
