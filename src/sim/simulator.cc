#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <queue>

#include "pool/pool.h"

namespace switchboard::sim {
namespace {

struct StepEnd {
  std::int64_t time;
  std::uint64_t seq;  // insertion order: ties resolve deterministically
  std::size_t replica;
  bool operator>(const StepEnd& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

double spread(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0, max = 0;
  for (double x : v) {
    sum += x;
    max = std::max(max, x);
  }
  return sum > 0 ? max / (sum / static_cast<double>(v.size())) : 0;
}

}  // namespace

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

Summary summarize(const Trace& trace, const std::vector<RequestOutcome>& requests,
                  const std::vector<ReplicaCounters>& replicas, std::int64_t makespan_us) {
  Summary s;
  s.requests = requests.size();
  std::vector<double> ttft, e2e;
  double input = 0, cached = 0, output = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (r.rejected) {
      ++s.rejected;
      continue;
    }
    input += static_cast<double>(trace.requests[i].input_tokens);
    cached += static_cast<double>(r.cached_tokens);
    if (r.e2e_us < 0) continue;
    ++s.completed;
    output += static_cast<double>(std::max<std::int64_t>(trace.requests[i].output_tokens, 1));
    ttft.push_back(static_cast<double>(r.ttft_us) / 1000);
    e2e.push_back(static_cast<double>(r.e2e_us) / 1000);
  }
  s.hit_rate = input > 0 ? cached / input : 0;
  s.ttft_p50_ms = percentile(ttft, 50);
  s.ttft_p90_ms = percentile(ttft, 90);
  s.ttft_p99_ms = percentile(ttft, 99);
  s.e2e_p50_ms = percentile(e2e, 50);
  s.e2e_p99_ms = percentile(e2e, 99);
  s.makespan_s = static_cast<double>(makespan_us) / 1e6;
  if (s.makespan_s > 0) {
    s.throughput_rps = static_cast<double>(s.completed) / s.makespan_s;
    s.output_tps = output / s.makespan_s;
  }
  std::vector<double> req, busy, prefill;
  for (const auto& c : replicas) {
    req.push_back(static_cast<double>(c.requests));
    busy.push_back(static_cast<double>(c.busy_us));
    prefill.push_back(static_cast<double>(c.prefill_tokens));
  }
  s.spread_requests = spread(req);
  s.spread_busy = spread(busy);
  s.spread_prefill = spread(prefill);
  return s;
}

Result<RunResult> simulate(const Trace& trace, const SimOptions& options,
                           const std::string& balancer, const YAML::Node& balancer_options) {
  auto wall_start = std::chrono::steady_clock::now();
  const std::size_t n = std::max<std::size_t>(options.replicas, 1);
  RunResult result;
  result.balancer = balancer;
  result.requests.assign(trace.requests.size(), RequestOutcome{});

  std::vector<std::unique_ptr<Replica>> replicas;
  std::vector<Replica*> ptrs;
  std::vector<ReplicaEngine> engines;
  engines.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto r = std::make_unique<Replica>();
    r->model = "sim";
    r->index = i;
    r->ordinal = static_cast<std::uint32_t>(i);
    if (i < options.max_context.size()) r->max_context = options.max_context[i];
    ptrs.push_back(r.get());
    replicas.push_back(std::move(r));
    engines.emplace_back(static_cast<std::int32_t>(i), options.engine, trace, result.requests);
  }
  auto made = pool::make_balancer(balancer, balancer_options, ptrs, "--balancer " + balancer,
                                  "--balancer-opt");
  if (!made) return made.error();
  Balancer& lb = **made;

  std::priority_queue<StepEnd, std::vector<StepEnd>, std::greater<>> steps;
  std::uint64_t seq = 0;
  std::int64_t last_event = 0;
  std::vector<std::size_t> finished;
  auto start_if_idle = [&](std::size_t r, std::int64_t now) {
    if (engines[r].busy()) return;
    std::int64_t end = engines[r].start_step(now);
    if (end >= 0) steps.push(StepEnd{end, seq++, r});
  };

  const double scale = options.time_scale > 0 ? options.time_scale : 1;
  std::size_t next = 0;
  const std::size_t total = trace.requests.size();
  while (next < total || !steps.empty()) {
    std::int64_t arrival = next < total
                               ? static_cast<std::int64_t>(std::llround(
                                     static_cast<double>(trace.requests[next].arrival_us) / scale))
                               : INT64_MAX;
    if (!steps.empty() && steps.top().time <= arrival) {  // finishing work first frees its load
      StepEnd e = steps.top();
      steps.pop();
      finished.clear();
      engines[e.replica].end_step(e.time, finished);
      replicas[e.replica]->in_flight.fetch_sub(static_cast<std::int64_t>(finished.size()),
                                               std::memory_order_relaxed);
      last_event = std::max(last_event, e.time);
      start_if_idle(e.replica, e.time);
      continue;
    }
    const TraceRequest& tr = trace.requests[next];
    RouteRequest rr;
    rr.route = "sim";
    rr.prefix_blocks = tr.blocks;
    rr.adapter = tr.adapter;
    rr.prompt_tokens = tr.input_tokens;
    rr.max_output_tokens = tr.output_tokens;
    Replica& chosen = lb.pick(ptrs, rr);
    std::size_t r = chosen.ordinal;
    if (engines[r].enqueue(next, arrival)) {
      chosen.in_flight.fetch_add(1, std::memory_order_relaxed);
      start_if_idle(r, arrival);
    }
    last_event = std::max(last_event, arrival);
    ++next;
  }
  for (const auto& e : engines) result.replicas.push_back(e.counters());
  result.summary = summarize(trace, result.requests, result.replicas, last_event);
  result.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace switchboard::sim
