#include "sim/engine.h"

#include <algorithm>
#include <cmath>

namespace switchboard::sim {

ReplicaEngine::ReplicaEngine(std::int32_t id, const EngineParams& p, const Trace& trace,
                             std::vector<RequestOutcome>& out)
    : id_(id), p_(p), trace_(trace), out_(out), cache_(p.kv_tokens / p.block_tokens) {}

std::int64_t ReplicaEngine::private_blocks(const TraceRequest& r) const {
  std::int64_t total =
      (r.input_tokens + std::max<std::int64_t>(r.output_tokens, 1) + p_.block_tokens - 1) /
      p_.block_tokens;
  return std::max<std::int64_t>(total - static_cast<std::int64_t>(r.blocks.size()), 0);
}

bool ReplicaEngine::enqueue(std::size_t request, std::int64_t now) {
  const TraceRequest& r = trace_.requests[request];
  out_[request].replica = id_;
  ++counters_.requests;
  counters_.input_tokens += r.input_tokens;
  if (static_cast<std::int64_t>(r.blocks.size()) + private_blocks(r) > cache_.capacity()) {
    out_[request].rejected = true;
    ++counters_.rejected;
    return false;
  }
  waiting_.emplace_back(request, now);
  counters_.max_waiting =
      std::max<std::int64_t>(counters_.max_waiting, static_cast<std::int64_t>(waiting_.size()));
  return true;
}

bool ReplicaEngine::admit(std::int64_t now) {
  if (waiting_.empty() || static_cast<std::int64_t>(running_.size()) >= p_.max_batch) return false;
  auto [request, arrival] = waiting_.front();
  const TraceRequest& r = trace_.requests[request];
  std::span<const std::uint64_t> blocks(r.blocks);
  std::int64_t cached = static_cast<std::int64_t>(cache_.match(blocks)) * p_.block_tokens;
  cached = std::min(cached, r.input_tokens - 1);
  std::int64_t priv = private_blocks(r);
  if (!cache_.admit(blocks, priv)) return false;
  waiting_.pop_front();
  out_[request].cached_tokens = cached;
  counters_.cached_tokens += cached;
  counters_.prefill_tokens += r.input_tokens - cached;
  running_.push_back(Seq{request, arrival, r.input_tokens - cached, cached,
                         std::max<std::int64_t>(r.output_tokens, 1) - 1, priv});
  counters_.max_running =
      std::max<std::int64_t>(counters_.max_running, static_cast<std::int64_t>(running_.size()));
  return true;
}

std::int64_t ReplicaEngine::start_step(std::int64_t now) {
  while (admit(now)) {
  }
  if (running_.empty()) {
    busy_ = false;
    return -1;
  }
  double cost = p_.step_us;
  std::int64_t budget = p_.chunk_tokens;
  for (Seq& s : running_) {
    if (s.prefill_left > 0) {
      s.chunk = std::min(budget, s.prefill_left);
      if (s.chunk == 0) {
        s.chunk = -1;  // waits for budget in a later step
        continue;
      }
      budget -= s.chunk;
      double c = static_cast<double>(s.chunk);
      cost += c * (p_.prefill_us_per_token +
                   p_.attention_us_per_ktok * (static_cast<double>(s.context) + c / 2) / 1000);
    } else {
      s.chunk = 0;
      cost += p_.decode_us_per_ktok * static_cast<double>(s.context) / 1000;
    }
  }
  auto duration = static_cast<std::int64_t>(std::llround(cost));
  busy_ = true;
  step_start_ = now;
  ++counters_.steps;
  counters_.busy_us += duration;
  return now + duration;
}

void ReplicaEngine::end_step(std::int64_t now, std::vector<std::size_t>& finished) {
  busy_ = false;
  for (Seq& s : running_) {
    const TraceRequest& r = trace_.requests[s.request];
    if (s.chunk > 0) {
      s.context += s.chunk;
      s.prefill_left -= s.chunk;
      if (s.prefill_left == 0) {  // the step that ends the prefill also yields the first token
        cache_.mark_computed(r.blocks);
        out_[s.request].ttft_us = now - s.arrival;
        ++counters_.output_tokens;
        ++s.context;
        if (s.decode_left == 0) s.chunk = -2;  // done
      }
    } else if (s.chunk == 0) {
      ++s.context;
      ++counters_.output_tokens;
      if (--s.decode_left == 0) s.chunk = -2;
    }
    if (s.chunk == -2) {
      out_[s.request].e2e_us = now - s.arrival;
      cache_.release(r.blocks, s.private_blocks);
      finished.push_back(s.request);
    }
  }
  std::erase_if(running_, [](const Seq& s) { return s.chunk == -2; });
}

}  // namespace switchboard::sim
