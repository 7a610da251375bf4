// `switchboard eval --sessions TURNS`: how often a policy would switch models inside a
// conversation, and what keeping a session on one model (docs/sessions.md) costs in quality and
// money, on recorded single-turn outcomes.
//
// Conversations are built deterministically from TEST: the prompts of each task label (the
// `task` field; "" is a label too) in a seeded order, cut into consecutive groups of `turns`
// prompts (the last group of a task may be shorter; a group of one prompt is a one-turn session).
// Each prompt is decided once by the policy, through the gateway's own stages up to `decide`
// (POST /v1/route's path, eval/offline_runner.h) at λ = `lambda`, as a single-turn request: its
// candidates and utilities. Then, for every setting, each session is replayed turn by turn: the
// first turn takes the policy's choice; a later turn keeps the session's model unless
// session::stickiness() (the gateway's rule) says switch at that margin. "off" is no stickiness
// (every turn takes the policy's choice), "always" never switches away from an eligible model.
// A turn's score and cost are the recorded ones of the model that serves it.
//
// What it does not model: a later turn's prompt does not contain the earlier turns (RouterBench
// prompts are single-turn), so neither the policy nor the recorded scores see the history, and
// the prompt-cache saving a kept model earns is not in the cost.
//
// Deterministic: same inputs and seed, same result.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/outcomes.h"
#include "switchboard/result.h"

namespace switchboard::eval {

struct SessionReplayOptions {
  std::string policy = "classifier";  // a policy type or a --policy-config label
  std::string policy_config;
  std::size_t turns = 4;  // prompts per conversation
  std::vector<std::string> margins = {"off", "0", "0.02", "0.05", "0.1", "0.2", "always"};
  double lambda = 20;
  std::uint64_t seed = 1;
  std::string artifacts_dir;  // trained policies; empty = a temporary directory
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct SessionReplayRow {
  std::string margin;               // as given: "off", a number, "always"
  double switches_per_session = 0;  // model changes between consecutive turns, per session
  double sessions_with_switch = 0;  // share of sessions (of ≥ 2 turns) with at least one switch
  double kept_share = 0;            // share of turns where the session's model overrode the policy
  double quality = 0;               // mean recorded score over all turns
  double cost = 0;                  // total USD over all turns
  double utility = 0;               // mean score − λ·cost per turn
};

struct SessionReplayResult {
  std::string policy, type;
  std::size_t prompts = 0, sessions = 0, turns = 0;
  double lambda = 0;
  std::uint64_t seed = 1;
  std::vector<SessionReplayRow> rows;  // in the order of `margins`
};

// Errors (kBadRequest): turns < 1, a margin that is not off/always/a number ≥ 0, the policy cannot
// be built or trained, or it fails on a prompt.
Result<SessionReplayResult> evaluate_sessions(const data::Outcomes& train,
                                              const data::Outcomes& test,
                                              const SessionReplayOptions& options);

std::string sessions_to_table(const SessionReplayResult& r);
nlohmann::json sessions_to_json(const SessionReplayResult& r);

}  // namespace switchboard::eval
