// The model of one inference replica in the fleet simulator: continuous batching in iterations, as
// vLLM-like servers do. Each iteration (step) admits waiting requests in arrival order while the
// batch has room and their KV blocks fit, then runs one decode token for every request past its
// prefill plus up to `chunk_tokens` of prefill (chunked prefill, oldest request first).
//
// Step time = step_us                                       (fixed: weights read once per step)
//           + Σ prefill chunks c at context p: c · (prefill_us_per_token
//                                                   + attention_us_per_ktok · (p + c/2) / 1000)
//           + Σ decoding requests at context p: decode_us_per_ktok · p / 1000   (KV reads)
//
// A request's first token is out at the end of the step that finishes its prefill; each later step
// adds one token. Prompt blocks already cached on the replica (a computed prefix of the request's
// block ids) are not prefilled: the request starts at context = cached tokens (at most prompt − 1,
// the last prompt token is always computed). Nothing is preempted: a request is admitted only when
// its whole prompt and output fit in the KV cache. Defaults describe an 8B-parameter model on one
// 80 GB GPU (see docs/pool.md); they are assumptions, not measurements.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "sim/kv_cache.h"
#include "sim/trace.h"

namespace switchboard::sim {

struct EngineParams {
  std::int64_t block_tokens = 512;   // the trace's block size
  std::int64_t kv_tokens = 400'000;  // KV-cache capacity (rounded down to whole blocks)
  std::int64_t max_batch = 128;      // requests running at once
  std::int64_t chunk_tokens = 4096;  // prefill tokens per step
  double step_us = 6000;
  double prefill_us_per_token = 30;
  double attention_us_per_ktok = 1.3;
  double decode_us_per_ktok = 50;
};

// What happened to one request.
struct RequestOutcome {
  std::int32_t replica = -1;
  std::int64_t ttft_us = -1;  // arrival -> first token; -1 if rejected
  std::int64_t e2e_us = -1;   // arrival -> last token
  std::int64_t cached_tokens = 0;
  bool rejected = false;  // larger than the replica's whole KV cache
};

struct ReplicaCounters {
  std::int64_t requests = 0, input_tokens = 0, cached_tokens = 0, prefill_tokens = 0,
               output_tokens = 0;
  std::int64_t busy_us = 0, steps = 0, rejected = 0, max_running = 0, max_waiting = 0;
};

class ReplicaEngine {
 public:
  ReplicaEngine(std::int32_t id, const EngineParams& p, const Trace& trace,
                std::vector<RequestOutcome>& out);

  // A request (index into the trace) arrives at `now`. A request that can never fit is rejected at
  // once (returns false).
  bool enqueue(std::size_t request, std::int64_t now);
  // Starts a step at `now` if there is work: returns its end time, or -1 (idle).
  std::int64_t start_step(std::int64_t now);
  // Ends the running step at `now`; appends the requests that finished to `finished`.
  void end_step(std::int64_t now, std::vector<std::size_t>& finished);

  bool busy() const { return busy_; }
  std::size_t running() const { return running_.size(); }
  std::size_t waiting() const { return waiting_.size(); }
  const ReplicaCounters& counters() const { return counters_; }
  const KvCache& cache() const { return cache_; }

 private:
  struct Seq {
    std::size_t request;
    std::int64_t arrival;
    std::int64_t prefill_left;  // prompt tokens still to compute
    std::int64_t context;       // tokens in the KV cache so far
    std::int64_t decode_left;   // output tokens after the first
    std::int64_t private_blocks;
    std::int64_t chunk = 0;  // this step: prefill tokens (> 0), or 0 = decode, -1 = idle
  };
  bool admit(std::int64_t now);
  std::int64_t private_blocks(const TraceRequest& r) const;

  const std::int32_t id_;
  const EngineParams p_;
  const Trace& trace_;
  std::vector<RequestOutcome>& out_;
  KvCache cache_;
  std::deque<std::pair<std::size_t, std::int64_t>> waiting_;  // request, arrival
  std::vector<Seq> running_;
  bool busy_ = false;
  std::int64_t step_start_ = 0;
  ReplicaCounters counters_;
};

}  // namespace switchboard::sim
