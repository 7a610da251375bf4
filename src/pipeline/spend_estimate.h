// What a request of a budgeted API key may spend, estimated before its answer (docs/keys.md,
// "Budgets"; used by the limits stage). The budgets count these estimates while requests run, so
// that requests in flight at once see each other's spend; the actual cost replaces them once
// answered (access/limiter.h).
//
// Two moments:
// - at admission, before any model is chosen: what the request could cost at most — the model
//   it names, or for a route the most expensive of the models its policy may call
//   (Policy::models(), RouteRuntime::models); for a policy that does not say, of the models its
//   decisions have named so far (RouteModels: every candidate and every model of the plans),
//   every configured model before the route's first decision;
// - once its plan is known: per model the plan may call, the larger of the policy's predicted
//   cost and that model's list price.
// Both price the prompt's estimated tokens plus the completion's: the request's max_tokens when
// it sets one, else the model's recent mean completion (CompletionMeans), so an answer without a
// limit is not counted as free while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pipeline/request_context.h"

namespace switchboard::pipeline {

// Each configured model's recent completion length: an exponentially weighted mean of its
// answers' completion tokens (weight 1/16 for the newest, i.e. about the last 16 answers).
// Thread-safe, lock-free; the set of models is fixed at construction.
class CompletionMeans {
 public:
  explicit CompletionMeans(const config::Config& config);
  // One for `config` whose means are those of every other made by continued() in this process,
  // per model name: a config reload keeps the running gateway's means for the models it keeps
  // (and answers the old runtime finishes still count), a reload that fails changes nothing.
  // Thread-safe.
  static std::shared_ptr<CompletionMeans> continued(const config::Config& config);
  // A finished answer of `model` (unknown models and counts ≤ 0 are ignored).
  void observe(std::string_view model, std::int64_t completion_tokens);
  // kBeforeFirstAnswer before the model's first answer (after a start, a burst of requests
  // without max_tokens reserved nothing for their answers and all passed a nearly spent budget).
  std::int64_t mean(std::string_view model) const;
  // A long answer's length: reserved until a model has answered once, then its answers' mean.
  static constexpr std::int64_t kBeforeFirstAnswer = 1024;

 private:
  std::map<std::string, std::shared_ptr<std::atomic<double>>, std::less<>> means_;
};

// The models each route's decisions have named: candidates and plan models, one bit per configured
// model (the first 64; a route that named a model beyond them counts every model). Thread-safe,
// lock-free; routes and models fixed at construction.
class RouteModels {
 public:
  explicit RouteModels(const config::Config& config);
  // Notes the decision's candidates and plan models for its route (no-op without a route).
  void saw(const RequestContext& ctx);
  // The configured models the route has named, or every configured model when it has named none
  // yet (or one beyond the first 64).
  std::vector<const config::ModelConfig*> models_of(const config::Config& config,
                                                    std::string_view route) const;

 private:
  static constexpr std::uint64_t kAll = ~std::uint64_t{0};
  std::map<std::string, std::size_t, std::less<>> model_bits_;
  std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>, std::less<>> routes_;
};

// USD; 0 without a runtime.
double admission_spend_estimate(const RequestContext& ctx, const CompletionMeans& means,
                                const RouteModels& routes);
// USD; 0 before a decision. Fallbacks are not counted: only one model answers.
double plan_spend_estimate(const RequestContext& ctx, const CompletionMeans& means);

// How many model calls the decided plan may make: 1 for a single call (fallbacks answer instead,
// not besides), each distinct model of a multi-call plan's tiers plus its aggregator, at most its
// max_calls. 1 before a decision.
std::int64_t plan_calls_at_most(const RequestContext& ctx);

}  // namespace switchboard::pipeline
