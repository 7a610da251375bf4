// Online learning: policies whose state changes with feedback while they serve.
//
// A LearningPolicy is a Policy (switchboard/policy.h) that also accepts feedback on its own past
// decisions. Its learnable state is an immutable snapshot behind an atomic pointer: choose() loads
// the current snapshot (lock-free, never waits for learning) and observe() — called by whoever
// delivers feedback, never by choose() — builds the next snapshot from the current one and swaps
// it in. Concurrent observe() calls are serialised inside the policy; choose() keeps running on
// the old snapshot meanwhile.
//
// Feedback sources: `switchboard eval --online` (eval/online.h) feeds each decision its recorded
// score; the gateway's `POST /v1/feedback` (docs/online.md) hands feedback to the pipeline's
// learner thread (pipeline/learning/learner.h), which calls observe() off the request path, saves
// the state (save()) to SQLite and restores it at start (restore()), and with `state: {redis: URL}`
// applies one Redis stream of feedback events in the same order on every gateway.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "switchboard/policy.h"
#include "switchboard/result.h"

namespace switchboard {

// One piece of feedback on one decision.
struct Feedback {
  Signals signals;                 // the request's signals when it was decided (embedding, task)
  std::string prompt_text;         // RouteRequest::prompt_text (text-based warm starts re-predict)
  std::int64_t prompt_tokens = 0;  // the gateway's estimate
  std::string model;               // the model that answered
  std::optional<double> score;     // its quality in [0,1], when rated
  double cost = 0;                 // USD billed for the answer
  std::optional<double> lambda;    // λ the decision was made with (the policy's own when empty)
  // A pairwise preference between `model`'s answer and another answer: 1 = `model` won,
  // 0 = `other` won, 0.5 = tie. Empty = no comparison.
  std::string other;
  double other_cost = 0;
  std::optional<double> outcome;
  // The other answer's request when it is known (the gateway's POST /v1/feedback pairs two
  // decisions, which may be of two prompts); empty: the same prompt as this one.
  std::optional<Signals> other_signals;
  std::string other_prompt_text;
  std::int64_t other_prompt_tokens = 0;
};

class LearningPolicy : public Policy {
 public:
  // Updates the state with one piece of feedback and publishes the new snapshot. Thread-safe.
  // kBadRequest when the feedback names a model the policy does not route to, or carries neither a
  // score nor a comparison this policy learns from.
  virtual std::optional<Error> observe(const Feedback& feedback) = 0;
  // Why this policy could never learn from `feedback` whatever its state (a kind of feedback it
  // does not use, two answers of one model compared), or nothing. Asked before the feedback is
  // queued, so that the client is told at once (POST /v1/feedback's `learning: not_learned`).
  virtual std::optional<std::string> cannot_learn(const Feedback& feedback) const {
    (void)feedback;
    return std::nullopt;
  }
  // How many feedback events the current snapshot has learned from.
  virtual std::uint64_t observations() const = 0;
  // A summary of the current state as JSON (for inspection and reports).
  virtual nlohmann::json summary() const = 0;
  // The whole learnable state as JSON (persistence); restore() is its inverse for a policy built
  // from the same spec: it publishes the restored snapshot atomically like observe(). kBadRequest
  // (and the state unchanged) when `state` does not fit this policy (other models, another
  // dimension, malformed).
  virtual nlohmann::json save() const = 0;
  virtual std::optional<Error> restore(const nlohmann::json& state) = 0;
};

}  // namespace switchboard
