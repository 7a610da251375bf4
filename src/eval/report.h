// Outputs of `switchboard eval`: JSON (every point and metric), a terminal table, a Markdown
// summary and an SVG plot of the frontiers. Numbers are rounded to fixed precision (6 decimals in
// JSON), so the same result always gives the same bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "eval/evaluator.h"

namespace switchboard::eval {

// {"format": "switchboard-eval", "version": 1, "train": {...}, "test": {...}, "models": [...],
//  "policies": [curve...], "baselines": [curve...], ...}; a curve has name, kind, aiq, apgr,
// cpt50, cpt80, quality_at_budget and points[] with cost, quality, strong_share, knob, shares.
// docs/evaluation.md documents every key.
nlohmann::json to_json(const EvalResult& result);

// Fixed-width tables for a terminal (no colour codes).
std::string to_table(const EvalResult& result);

// A self-contained Markdown report.
std::string to_markdown(const EvalResult& result);

// A standalone SVG: mean score against total cost (log scale), one line per policy.
std::string to_svg(const EvalResult& result);

// Rounds to `decimals` places (for output only; metrics use full precision).
double rounded(double v, int decimals = 6);

}  // namespace switchboard::eval
