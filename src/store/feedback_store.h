// Feedback on decisions (POST /v1/feedback, docs/online.md) and the learning policies' saved state,
// in two tables of the decision store's SQLite file:
//
//   feedback(decision_id PRIMARY KEY, time_ms, kind, score, other_id, outcome, route, model,
//   source) learning_states(route, signature, models, policy, observations, stream_id, state,
//   time_ms; PRIMARY KEY (route, signature, models))
//
// A route's state is kept per policy spec and model set: a spec changed and changed back, or a
// model removed and added back, finds its state again (one row per route, overwritten by the new
// spec's empty state, lost it for good). The newest kStatesPerRoute rows of a route are kept. Rows
// of the former one-row-per-route table (learning_state) are copied over once (the file's
// user_version 0 → 1), with models "", and left there for a downgrade.
//
// One feedback row per decision: add() inserts all its rows in one transaction and inserts none
// when any decision already has feedback (the endpoint's 409). A pairwise preference is two rows,
// one per decision, each naming the other and the outcome from its own side.
//
// Every call is blocking (SQLite, busy timeout 5 s) and serialised on one connection: the gateway
// calls it from its lookup thread pool and the learner thread, never on a worker's event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/result.h"

struct sqlite3;

namespace switchboard::store {

struct FeedbackRow {
  std::string decision_id;
  std::int64_t time_ms = 0;
  std::string kind;               // score | pairwise | implicit
  std::optional<double> score;    // score, implicit: in [0,1]
  std::string other_id;           // pairwise: the other decision
  std::optional<double> outcome;  // pairwise: 1 = this decision's answer won, 0 lost, 0.5 tie
  std::string route;              // copied from the decision
  std::string model;
  std::string source;  // client | implicit
};

// A learning policy's saved state (pipeline/learning/learner.h).
struct LearningStateRow {
  std::string route;
  std::string policy;     // the policy type
  std::string signature;  // the route's policy spec as YAML: restored only into the same spec
  std::string models;     // the policy's models, comma-separated ("" = saved before they were kept)
  std::uint64_t observations = 0;
  std::string stream_id;  // the last shared-stream event applied ("" = none, or no Redis)
  std::string state;      // LearningPolicy::save(), JSON
  std::int64_t time_ms = 0;
};

class FeedbackStore {
 public:
  static Result<std::unique_ptr<FeedbackStore>> open(const std::string& path);
  ~FeedbackStore();

  // true: inserted; false: some decision already has feedback (nothing inserted).
  Result<bool> add(const std::vector<FeedbackRow>& rows);
  std::optional<FeedbackRow> find(const std::string& decision_id);
  std::int64_t count();

  static constexpr int kStatesPerRoute = 8;
  // Saves the row under (route, signature, models) and drops the route's rows past the newest
  // kStatesPerRoute.
  Result<bool> save_state(const LearningStateRow& row);
  // The row of that route, spec and models; else one saved before models were kept (models "").
  std::optional<LearningStateRow> load_state(const std::string& route, const std::string& signature,
                                             const std::string& models);

 private:
  FeedbackStore() = default;
  std::mutex mu_;
  sqlite3* db_ = nullptr;  // guarded by mu_
};

}  // namespace switchboard::store
