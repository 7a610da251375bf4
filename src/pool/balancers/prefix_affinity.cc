// `prefix_affinity`: send a request to the replica most likely to hold the longest prefix of its
// prompt in its KV cache, so that the replica skips recomputing it — unless that replica is
// overloaded, then to the best-matching replica that is not (often simply the least loaded).
//
// Rule, per request. A replica is overloaded when its load() exceeds the least-loaded candidate's
// × (1 + balance_margin) + balance_slack. The index (PrefixIndex: an LRU model of each replica's
// cache) says how many leading blocks of the request each replica holds; a match counts only if it
// covers at least min_match of the request's blocks (so that a short shared system prompt does not
// pull every new conversation to one replica). Among the replicas that are not overloaded, choose
// the deepest counting match, the least loaded among equals; with no counting match, the least
// loaded. Ties rotate. A request without prefix blocks goes to the least-loaded replica. The chosen
// replica is then recorded as holding the request's blocks.
//
// Collapse guard: a popular prefix (a shared system prompt, a hot document) at first lives on one
// replica, which would attract all of its traffic. The overload rule caps that replica near the
// least-loaded one; the overflow goes to another replica, which from then on holds the prefix too
// and ties with the first on depth — so a hot prefix is replicated onto as many replicas as its
// load needs, and load decides between them. Relative to the least-loaded replica (not the mean),
// so no replica stays idle while the holders queue. The least-loaded replica is never overloaded,
// so a choice always exists.
//
// Options (all optional):
//   block_chars      1024  prompt characters per block (≈ 256 tokens), for prefix_block_hashes()
//   cache_blocks     2048  blocks remembered per replica (≈ its KV-cache tokens × 4 / block_chars;
//                          2048 ≈ 512k tokens)
//   max_blocks       64    leading blocks of a request considered (bounds the cost of a pick;
//                          64 × 1024 characters ≈ the first 16k tokens)
//   min_match        0.25  fraction of the request's blocks a match must cover to count
//   balance_margin   0.5   relative overload margin over the least-loaded replica
//   balance_slack    2     absolute overload margin, in requests
//
// Thread safety: the index is guarded by one spin lock (SpinLock), held for one match + one
// insert per pick — under a microsecond at 64 replicas, for repeated and new prompts alike
// (bench/balancer_bench.cc). Loads are read before locking.
#include <algorithm>
#include <cmath>
#include <mutex>  // std::lock_guard
#include <vector>

#include "pool/options.h"
#include "pool/prefix_index.h"
#include "pool/select.h"
#include "pool/spin_lock.h"

namespace switchboard::pool {
namespace {

struct PrefixParams {
  std::size_t block_chars = 1024;
  std::size_t cache_blocks = 2048;
  std::size_t max_blocks = 64;
  double balance_margin = 0.5;
  double balance_slack = 2;
  double min_match = 0.25;
};

class PrefixAffinity final : public Balancer {
 public:
  PrefixAffinity(const PrefixParams& p, std::size_t replicas)
      : p_(p), index_(replicas, p.cache_blocks) {}

  PrefixBlocking prefix_blocking() const override { return {p_.block_chars, p_.max_blocks}; }

 protected:
  Replica& choose(std::span<Replica* const> eligible, const RouteRequest& request) override {
    std::size_t n = eligible.size();
    std::size_t start = take_turn(next_, request) % n;
    if (request.prefix_blocks.empty() || n == 1) return *least_loaded(eligible, start);

    const LoadSnapshot loads(eligible);
    const double limit = overload_threshold(loads.loads(), p_.balance_margin, p_.balance_slack);
    std::uint64_t open = 0;  // replicas that are not overloaded
    for (std::size_t i = 0; i < n; ++i)
      if (static_cast<double>(loads[i]) <= limit) open |= PrefixIndex::bit(eligible[i]->ordinal);
    auto blocks =
        request.prefix_blocks.first(std::min(request.prefix_blocks.size(), p_.max_blocks));
    // A match shorter than this is no reason to prefer a replica (a shared system prompt alone
    // would otherwise pull every new conversation to the first replica that saw it).
    const auto min_depth = static_cast<std::size_t>(
        std::max<double>(1, std::ceil(p_.min_match * static_cast<double>(blocks.size()))));

    std::lock_guard lock(mu_);
    std::uint64_t holders = 0;
    std::size_t depth = index_.deepest(blocks, open, &holders);
    if (depth < min_depth) holders = 0;
    // The least loaded of the deepest-matching replicas that are not overloaded; without a
    // counting match, the least loaded of all (who is never overloaded). Ties rotate.
    std::size_t best = n;
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t i = start + k < n ? start + k : start + k - n;
      if (holders && !(holders & PrefixIndex::bit(eligible[i]->ordinal))) continue;
      if (static_cast<double>(loads[i]) > limit) continue;
      if (best == n || loads[i] < loads[best]) best = i;
    }
    if (best == n) best = start;  // unreachable: the least loaded is never above the limit
    bool holder = holders & PrefixIndex::bit(eligible[best]->ordinal);
    index_.insert(blocks, eligible[best]->ordinal, holder ? depth : SIZE_MAX);
    return *eligible[best];
  }

 private:
  const PrefixParams p_;
  std::atomic<std::size_t> next_{0};
  SpinLock mu_;
  PrefixIndex index_;  // guarded by mu_
};

const BalancerRegistrar kRegister(
    "prefix_affinity", [](const BalancerContext& ctx) -> Result<std::unique_ptr<Balancer>> {
      Options opts(ctx, "prefix_affinity",
                   {"block_chars", "cache_blocks", "max_blocks", "balance_margin", "balance_slack",
                    "min_match"});
      PrefixParams p;
      p.block_chars = static_cast<std::size_t>(opts.integer("block_chars", 1024, 16, 1 << 20));
      p.cache_blocks = static_cast<std::size_t>(opts.integer("cache_blocks", 2048, 1, 1 << 24));
      p.max_blocks = static_cast<std::size_t>(opts.integer("max_blocks", 64, 1, 65535));
      p.balance_margin = opts.number("balance_margin", 0.5, 0, 1000);
      p.balance_slack = opts.number("balance_slack", 2, 0, 1e6);
      p.min_match = opts.number("min_match", 0.25, 0, 1);
      return std::unique_ptr<Balancer>(std::make_unique<PrefixAffinity>(p, ctx.replicas.size()));
    });

}  // namespace
}  // namespace switchboard::pool
