// What a learning policy decided on, kept in memory per decision id until feedback arrives
// (docs/online.md): the request's signals (embedding, task), prompt text and token estimate, the
// model that answered, its cost and the λ of the decision. With `persist` (the default) the record
// stage also hands the context, encoded (context_codec.h), to the decision store, which keeps it
// beside the decision record until retention deletes both: feedback that arrives after an entry
// left this cache — or after a restart — finds it there. Without, this is the only copy: such
// feedback is stored but not learned from (`no_context`).
//
// Bounded: at most `max_entries` entries and `max_bytes` of prompt text and embeddings, oldest out
// first; entries older than `ttl` are dropped. A prompt longer than `max_prompt_bytes` is kept
// truncated (warm-started policies re-predict from the text; a truncated one predicts on its
// start). The limits come from the top-level `feedback: {context_cache: {...}}` section
// (parse_context_limits below); they are read once, when the gateway starts learning.
//
// Thread-safe: put() is called on the workers (the record stage), get() by the feedback endpoint;
// one mutex, O(1) amortised per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "switchboard/policy.h"
#include "switchboard/result.h"

namespace switchboard::config {
struct Config;
}

namespace switchboard::pipeline::learning {

struct DecisionContext {
  std::string route;
  std::string model;
  Signals signals;
  std::string prompt_text;
  std::int64_t prompt_tokens = 0;
  double cost = 0;
  std::optional<double> lambda;
  std::int64_t time_ms = 0;  // when the request arrived (unix epoch)
};

struct ContextLimits {
  std::size_t max_entries = 100'000;
  std::size_t max_bytes = std::size_t{256} << 20;
  std::size_t max_prompt_bytes = 32 * 1024;
  std::chrono::seconds ttl{3600};
  bool persist = true;  // also kept in the decision store's database (see above)
};

// The limits of `feedback: {context_cache: {max_entries: N (100000), max_mb: N (256),
// max_prompt_kb: N (32), ttl_s: N (3600), persist: B (true)}}` in the config's top-level sections;
// every key optional, the defaults above when the section or a key is absent. kBadRequest
// (`bad_config`, message with file:line:column) for a key of the wrong type or out of range:
// max_entries in [1, 100000000], max_mb in [1, 1048576], max_prompt_kb in [1, 16384], ttl_s in
// [1, 604800] (a week), persist not a boolean, or an unknown key. Other keys of `feedback:` are
// not checked here (the implicit_feedback stage checks the section as a whole and calls this).
Result<ContextLimits> parse_context_limits(const config::Config& config);

class ContextCache {
 public:
  explicit ContextCache(ContextLimits limits) : limits_(limits) {}
  void put(const std::string& decision_id, DecisionContext context);
  std::optional<DecisionContext> get(const std::string& decision_id);
  std::size_t size() const;
  std::size_t bytes() const;
  const ContextLimits& limits() const { return limits_; }

 private:
  static std::size_t weight(const DecisionContext& c);
  void evict(std::int64_t now_ms);  // mu_ held

  const ContextLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, DecisionContext> entries_;  // guarded by mu_
  std::deque<std::pair<std::string, std::int64_t>> order_;    // guarded by mu_: (id, time_ms)
  std::size_t bytes_ = 0;                                     // guarded by mu_
};

}  // namespace switchboard::pipeline::learning
