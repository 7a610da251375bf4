// What the executor runs for one request: the plan inside a policy's Decision.
//
// A plan names the runner that executes it (`kind`, a PlanRunner registered by name in
// src/pipeline/plans/) and the models it may call. Single-call plans ("single"): one model, then
// each fallback in order when it fails before answering. Multi-call plans are run by their own
// runners and never stream an intermediate answer to the client:
//   "cascade"  — `tiers` in order; the models of a tier are called in parallel, its judge scores
//                the answers, and below the tier's threshold the next tier is called; the last
//                tier that answered gives the final answer.
//   "ensemble" — `tiers[0].models` (the members) are called in parallel and `aggregate` turns
//                their answers into the final one.
// Both are bounded by `bounds`. Judges (include/switchboard/judge.h) are built once by the policy
// that owns them and shared with every plan it returns (shared_ptr<const Judge>: immutable,
// thread-safe), so a plan never outlives its judges.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

class Judge;  // include/switchboard/judge.h

// What a tier does when its judge cannot score (Verdict::available == false).
enum class OnUnavailable {
  kEscalate,  // treat as unsure: call the next tier (the default)
  kAccept,    // take the tier's answer
};

// One tier of a multi-call plan: its models are called in parallel.
struct PlanTier {
  std::vector<std::string> models;
  std::shared_ptr<const Judge> judge;  // null: the tier is final (its answer is taken)
  std::string judge_name;              // the judge's type, for the record
  double threshold = 0;  // escalate to the next tier when the judge's confidence is below it
  OnUnavailable on_unavailable = OnUnavailable::kEscalate;
  bool logprobs = false;  // ask the upstream for logprobs (for a `logprobs` judge)
};

// How an ensemble turns its members' answers into one.
struct Aggregate {
  // "vote": the most common extracted answer (the judge's Verdict::extracted; the raw text
  //         trimmed when no judge), ties broken by `member_quality`, then member order;
  // "best-of": the answer with the highest judge score (Verdict::scores), ties as for vote;
  // "synthesize": `model` gets the prompt and the members' answers in `prompt_template`
  //         (placeholders {prompt} and {answers}; each answer as "Answer N (MODEL):\n TEXT")
  //         and writes the final answer.
  std::string kind = "vote";
  std::shared_ptr<const Judge> judge;  // extracts (vote) or scores (best-of) the answers
  std::string judge_name;
  std::string model;                   // synthesize
  std::string prompt_template;         // synthesize
  std::vector<double> member_quality;  // per member of tiers[0]: predicted quality (-1 = unknown)
};

// Bounds of a multi-call plan; a bound that stops a plan delivers the best answer so far.
struct PlanBounds {
  int max_calls = 0;               // model calls at most (0 = no bound)
  // USD: no further tier once the calls made cost this much, nor one whose forecast cost would
  // pass it (pipeline/plans/multi_call.h, Spend::allowed).
  std::optional<double> max_cost;
  int deadline_ms = 0;             // for every call together (0 = only the models' timeouts)
};

struct Plan {
  std::string kind = "single";  // the PlanRunner that executes it
  // "single": `model` answers; if it fails before answering (every retry spent, or no healthy
  // replica), each of `fallbacks` in order.
  std::string model;
  std::vector<std::string> fallbacks;
  // Multi-call plans only (read by their runners).
  std::vector<PlanTier> tiers;
  Aggregate aggregate;  // ensembles
  PlanBounds bounds;

  static Plan single(std::string model, std::vector<std::string> fallbacks = {}) {
    Plan p;
    p.model = std::move(model);
    p.fallbacks = std::move(fallbacks);
    return p;
  }
  // Every model the plan may call, first use order, without repeats.
  std::vector<std::string> models() const {
    std::vector<std::string> out;
    auto add = [&out](const std::string& m) {
      for (const auto& o : out)
        if (o == m) return;
      out.push_back(m);
    };
    if (!model.empty()) add(model);
    for (const auto& m : fallbacks) add(m);
    for (const auto& t : tiers)
      for (const auto& m : t.models) add(m);
    if (!aggregate.model.empty()) add(aggregate.model);
    return out;
  }
};

}  // namespace switchboard
