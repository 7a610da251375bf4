// Model selection: a Policy picks which configured model answers one request.
//
// Contract: choose() runs concurrently from every worker thread, must not block or do I/O, and
// returns an Error (kUnavailable / kBadRequest) when no candidate is eligible. Policies are built
// once from a route's `policy:` YAML mapping by a factory registered under the policy's `type`
// (see PolicyRegistrar) and are immutable afterwards.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/dual_prices.h"
#include "switchboard/plan.h"
#include "switchboard/registry.h"
#include "switchboard/result.h"

namespace switchboard {

namespace config {
struct Config;
}

// Which of the costlier signals a policy reads; the extractor (src/signals/) computes the union of
// what the route's policy needs and leaves the rest empty.
struct SignalNeeds {
  bool language = false;
  bool code = false;
  bool embedding = false;
  bool task = false;
  SignalNeeds& operator|=(const SignalNeeds& o) {
    language |= o.language;
    code |= o.code;
    embedding |= o.embedding;
    task |= o.task;
    return *this;
  }
  bool any() const { return language || code || embedding || task; }
};

// Cheap features of a request, computed once per request by signals::Extractor and shared by all
// policies. Fields a route's policy did not ask for (SignalNeeds) keep their empty value.
struct Signals {
  std::int64_t prompt_tokens = 0;  // estimate, always set
  std::size_t message_count = 0;   // always set
  std::string language;            // ISO 639 code from the language identifier ("en"); "" = unknown
  float language_confidence = 0;   // in [0,1]
  bool has_code = false;           // the prompt contains source code (fenced block or code-like lines)
  std::vector<float> embedding;    // unit-length text embedding; empty = not computed
  std::string task;                // task/domain label from the trained task classifier; "" = none
  float task_confidence = 0;       // in [0,1]
};

// What a policy sees of the request.
struct RouteRequest {
  std::string_view route;        // the route name the client asked for
  std::string_view prompt_text;  // all message texts joined by '\n'
  bool stream = false;
  // Willingness to pay (λ, quality points per US dollar) for this request, overriding the policy's
  // configured value; set per request (header) or by the evaluator sweeping a policy's curve.
  // Policies without a cost-quality knob ignore it.
  std::optional<double> lambda;
  // Named objective from the `x-switchboard-objective` header ("quality", "balanced", "cost"),
  // which a policy maps to its own λ; empty = the policy's default. `lambda` wins when both are set.
  std::string_view objective;
  // Hard ceiling on the predicted cost of this call in US dollars (`x-switchboard-max-cost`):
  // models predicted to cost more are not eligible (the cheapest is used if none fits).
  std::optional<double> max_cost;
  // Live capacity prices and budget λ (include/switchboard/dual_prices.h), set by the gateway;
  // null offline and for runtimes without capacities or budgets. Outlives choose().
  const DualPrices* prices = nullptr;

  // For the replica balancers (include/switchboard/balancer.h); filled per request by the gateway
  // and by the fleet simulator (from a trace). All optional: balancers treat empty/0 as unknown.
  // Chained hashes of the prompt's consecutive blocks (pool::prefix_block_hashes): equal values
  // at position i mean equal prompts up to the end of block i. Points into the caller's storage,
  // which outlives the pick.
  std::span<const std::uint64_t> prefix_blocks;
  std::string_view adapter;             // LoRA adapter the request asks for; empty = base model
  std::int64_t prompt_tokens = 0;       // estimated prompt tokens; 0 = unknown
  std::int64_t max_output_tokens = 0;   // the request's max_tokens; 0 = not given
  // The pick is another try of this request on this model (a replica failed it, or a hedge):
  // balancers that take turns do not advance theirs for it, so that a failing replica does not
  // shift every later request's turn onto itself (round robin tried it first on every request).
  bool retry = false;
  // Sessions (docs/sessions.md): the replica (Replica::ordinal of a replica of `session_model`)
  // that answered the session's last turn; -1 = none. Set by the session stage; read by the
  // `session_affinity` balancer, ignored by the others.
  std::string_view session_model;
  std::int32_t session_replica = -1;
};

struct Candidate {
  std::string model;
  double predicted_quality = -1;  // in [0,1]; -1 = this policy does not predict it
  double predicted_cost = -1;     // USD for this request; -1 = unknown
  std::optional<double> utility;  // the objective's value (learned policies); empty = not scored
  bool eligible = true;
  std::string note;               // why not eligible, or anything worth showing
  // Set when live dual prices were applied (docs/capacity.md): the λ the utility used (the
  // route's budget λ included) and the model's capacity price subtracted from it.
  std::optional<double> lambda;
  std::optional<double> price;
};

// A policy's choice: the plan the executor runs (include/switchboard/plan.h), and why.
struct Decision {
  Plan plan;                          // what to execute; plan.model is the chosen model of a single call
  std::string policy;                 // policy type that decided
  std::string reason;                 // one line for humans
  std::vector<Candidate> candidates;  // may be empty for policies that do not score
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Result<Decision> choose(const RouteRequest& request, const Signals& signals) const = 0;
  // The signals choose() reads beyond the always-present ones.
  virtual SignalNeeds needs() const { return {}; }
  // Every configured model a plan of this policy may call (chosen, fallback, tier, member,
  // aggregator), fixed at construction; empty = not known (any configured model). Budgets reserve
  // for the dearest of them; GET /v1/models lists them.
  virtual std::vector<std::string> models() const { return {}; }
  // Its choice trades predicted quality against cost through λ, so that a route budget's λ
  // (DualPrices::route_lambda) moves it to cheaper models; false for policies that never weigh
  // cost (static, rules), on whose routes a budget would do nothing and is refused.
  virtual bool weighs_cost() const { return false; }
};

struct PolicyContext {
  const YAML::Node& spec;         // the route's `policy:` mapping (has `type`)
  const config::Config& config;   // to validate model names
  const std::string& where;       // "file:line:col" of the spec, to prefix error messages
};

// Returns the policy, or an Error whose message starts with `where` and says what is wrong.
using PolicyFactory = std::function<Result<std::unique_ptr<Policy>>(const PolicyContext&)>;
using PolicyRegistry = Registry<PolicyFactory>;
using PolicyRegistrar = Registrar<PolicyFactory>;

}  // namespace switchboard
