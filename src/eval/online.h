// `switchboard eval --online`: replays prompts as a stream through the gateway's own stages and
// executor (eval/offline_runner.h, as the offline evaluator does) and gives every decision of a
// learning policy (switchboard/learning.h) its recorded outcome as feedback right after it:
//   - score feedback: the recorded score of the model that answered, and its billed cost;
//   - a pairwise preference between that model and one other model drawn at random, decided by
//     their recorded scores (1 / 0.5 / 0), for policies that learn from comparisons (elo).
// The stream is `warmup` TRAIN prompts (feedback only, not measured: a cold start that has already
// seen that many events when TEST begins) followed by every TEST prompt, each part in a seeded
// order. Every policy starts from a fresh state and sees the same stream. The reference policy (an
// offline-trained one, `classifier` by default) routes the same TEST stream at the same λ without
// learning; the oracle takes the best recorded utility per prompt.
//
// Utility of a decision = score − λ·cost (recorded score, billed cost). Drift: `model`'s recorded
// scores are multiplied by `factor` from the `after`-th TEST prompt on — in what the policies are
// fed back and in what is measured (the reference and oracle see the drifted scores too).
//
// Deterministic: same inputs and seed, same result.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/outcomes.h"
#include "switchboard/result.h"

namespace switchboard::eval {

struct Drift {
  std::string model;
  std::size_t after = 0;  // TEST prompts before the drift
  double factor = 1;
};

// Parses MODEL:AFTER:FACTOR (the model name may itself contain ':'; the last two fields are
// numbers).
Result<Drift> parse_drift(const std::string& text);

struct OnlineOptions {
  std::vector<std::string> policies;  // labels: policy types or --policy-config labels
  std::string policy_config;
  std::string reference = "classifier";  // an offline policy label/type, trained on TRAIN
  double lambda = 20;                    // quality points per USD, for every policy
  std::uint64_t seed = 1;
  std::size_t warmup = 0;  // TRAIN prompts streamed as feedback before TEST
  std::optional<Drift> drift;
  std::size_t window = 100;   // prompts in the trailing window of shares and utility
  std::size_t every = 10;     // a curve point every this many TEST prompts (and the last)
  std::string artifacts_dir;  // trained policies; empty = a temporary directory
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct OnlinePoint {
  std::size_t n = 0;            // TEST prompts so far
  double regret_oracle = 0;     // Σ (oracle utility − utility)
  double regret_reference = 0;  // Σ (reference utility − utility); negative = ahead of it
  double mean_utility = 0;      // over the n prompts
  double window_utility = 0;    // over the trailing window
  double drift_share = 0;       // share of the trailing window sent to the drifted model
};

struct OnlineCurve {
  std::string name, type;
  std::string kind;  // "online" (learns), "reference", "oracle"
  std::vector<OnlinePoint> points;
  double mean_utility = 0, quality = 0, cost = 0;  // over TEST: mean utility, mean score, total USD
  std::map<std::string, double> shares;            // share of TEST prompts per model
  // Warm start: the lowest (own − reference) / |reference| of the running mean utility from the
  // `window`-th prompt on (negative = below the reference).
  std::optional<double> worst_gap_to_reference;
  // Cold start: mean utility over the TEST prompts that came after ≥ 1,000 feedback events, its
  // ratio to the reference's on the same prompts, and how many prompts that was.
  std::optional<double> utility_after_1000, reference_after_1000;
  std::size_t prompts_after_1000 = 0;
  // Drift: the drifted model's share of the `window` prompts before the drift, of the window
  // ending 300 prompts after it, the fraction that moved away (1 − after/before), and the first
  // number of prompts after the drift at which the trailing window's share was ≤ 20% of before.
  std::optional<double> drift_share_before, drift_share_300, drift_moved_300;
  std::optional<std::size_t> drift_prompts_to_move_80;
  nlohmann::json state;  // the learning policy's summary() at the end
};

struct OnlineResult {
  double lambda = 0;
  std::uint64_t seed = 1;
  std::size_t warmup = 0, test_records = 0;
  std::optional<Drift> drift;
  std::vector<std::string> models;
  std::vector<OnlineCurve> curves;  // the policies in the order asked, then reference, then oracle
};

// Errors (kBadRequest): a label that is not a learning policy, a drift model that is not a model of
// the data or AFTER beyond the stream, the policies' own errors (naming the prompt).
Result<OnlineResult> evaluate_online(const data::Outcomes& train, const data::Outcomes& test,
                                     const OnlineOptions& options);

nlohmann::json online_to_json(const OnlineResult& result);
std::string online_to_table(const OnlineResult& result);
std::string online_to_svg(const OnlineResult& result);

}  // namespace switchboard::eval
