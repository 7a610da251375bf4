// The `logprobs` judge (GlimpRouter's signal): how sure the model was of its own tokens, from the
// log-probabilities the upstream returned with the answer (OpenAI `logprobs: true, top_logprobs:
// k`).
//
//   judge:
//     type: logprobs
//     measure: mean_logprob    # mean_logprob | first_entropy | both (the lower confidence of the
//     two) map:                     # optional: piecewise-linear measure → confidence, x increasing
//       mean_logprob: [[-1.5, 0.0], [-0.2, 0.9], [0.0, 1.0]]
//       first_entropy: [[0.0, 1.0], [1.0, 0.0]]
//
// Measures: mean_logprob = the mean of the answer's token log-probabilities (≤ 0); first_entropy =
// the entropy (nats) of the first token's distribution over its top_logprobs, the probability mass
// they leave counted as one more outcome (so a lower bound). Default maps: exp(mean_logprob) (the
// geometric-mean token probability) and 1 - entropy / ln(k + 1) for k top_logprobs.
//
// Verdict: confidence = the first answer's; scores per answer. When an answer came without
// logprobs (or first_entropy is asked and it has no top_logprobs) available = false, and the note
// says so: the plan then does what its config says.
#include <cmath>

#include "judges/spec.h"

namespace switchboard::judges {
namespace {

using Map = std::vector<std::pair<double, double>>;

double apply(const Map& map, double x) {
  if (x <= map.front().first) return map.front().second;
  if (x >= map.back().first) return map.back().second;
  for (std::size_t i = 1; i < map.size(); ++i) {
    if (x <= map[i].first) {
      const auto [x0, y0] = map[i - 1];
      const auto [x1, y1] = map[i];
      return x1 == x0 ? y1 : y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  }
  return map.back().second;
}

double clamp01(double v) {
  return std::isfinite(v) ? std::min(1.0, std::max(0.0, v)) : 0.0;
}

struct LogprobsSpec {
  bool use_mean = true, use_entropy = false;
  Map mean_map, entropy_map;  // empty: the default map
};

class LogprobsJudge final : public Judge {
 public:
  explicit LogprobsJudge(LogprobsSpec spec) : spec_(std::move(spec)) {}

  Verdict judge(const JudgeInput& input) const override {
    Verdict v;
    if (input.answers.empty()) {
      v.available = false;
      v.note = "no answer to judge";
      return v;
    }
    for (std::size_t i = 0; i < input.answers.size(); ++i) {
      std::string note;
      const auto score = score_of(input.answers[i], note);
      v.scores.push_back(score.value_or(0.0));
      if (i == 0) {
        v.available = score.has_value();
        v.confidence = score.value_or(0.0);
        v.note = std::move(note);
      }
    }
    return v;
  }

 private:
  std::optional<double> score_of(const JudgeAnswer& a, std::string& note) const {
    if (!a.logprobs || a.logprobs->tokens.empty()) {
      note = "no logprobs returned by " + std::string(a.model);
      return std::nullopt;
    }
    double confidence = 1;
    char buf[96];
    if (spec_.use_mean) {
      double sum = 0;
      for (float lp : a.logprobs->tokens) sum += std::isfinite(lp) ? std::min(0.0f, lp) : -30.0f;
      const double mean = sum / static_cast<double>(a.logprobs->tokens.size());
      confidence =
          std::min(confidence,
                   clamp01(spec_.mean_map.empty() ? std::exp(mean) : apply(spec_.mean_map, mean)));
      std::snprintf(buf, sizeof buf, "mean logprob %.3f over %zu tokens", mean,
                    a.logprobs->tokens.size());
      note = buf;
    }
    if (spec_.use_entropy) {
      const auto& top = a.logprobs->first_top;
      if (top.empty()) {
        note = "no top_logprobs for the first token from " + std::string(a.model);
        return std::nullopt;
      }
      double mass = 0, h = 0;
      for (float lp : top) {
        const double p = std::isfinite(lp) ? std::exp(std::min(0.0f, lp)) : 0.0;
        mass += p;
        if (p > 0) h -= p * std::log(p);
      }
      const double rest = std::max(0.0, 1.0 - mass);
      if (rest > 0) h -= rest * std::log(rest);
      const double max_h = std::log(static_cast<double>(top.size()) + 1);
      confidence = std::min(
          confidence,
          clamp01(spec_.entropy_map.empty() ? 1 - h / max_h : apply(spec_.entropy_map, h)));
      std::snprintf(buf, sizeof buf, "%sfirst-token entropy %.3f nats (top %zu)",
                    note.empty() ? "" : "; ", h, top.size());
      note += buf;
    }
    return confidence;
  }

  LogprobsSpec spec_;
};

Result<std::unique_ptr<Judge>> make_logprobs_judge(const JudgeContext& ctx) {
  SpecReader spec(ctx);
  if (auto e = spec.only_keys({"type", "measure", "map"})) return *e;
  auto measure = spec.string("measure", "mean_logprob", {"mean_logprob", "first_entropy", "both"});
  if (!measure) return measure.error();
  LogprobsSpec s;
  s.use_mean = *measure != "first_entropy";
  s.use_entropy = *measure != "mean_logprob";
  if (const YAML::Node map = ctx.spec["map"]) {
    if (!map.IsMap())
      return spec.error(map, "`map` must be a mapping {mean_logprob, first_entropy}");
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (key != "mean_logprob" && key != "first_entropy")
        return spec.error(
            kv.first, "unknown key '" + key + "' in map (allowed: first_entropy, mean_logprob)");
      const YAML::Node points = kv.second;
      Map m;
      if (!points.IsSequence() || points.size() < 2)
        return spec.error(points, "map." + key + " must be a list of at least 2 [x, confidence]");
      for (const auto& p : points) {
        double x = 0, y = 0;
        if (!p.IsSequence() || p.size() != 2 || !YAML::convert<double>::decode(p[0], x) ||
            !YAML::convert<double>::decode(p[1], y) || !(y >= 0 && y <= 1) || !std::isfinite(x))
          return spec.error(p, "a map point must be [x, confidence] with confidence in [0, 1]");
        if (!m.empty() && x <= m.back().first)
          return spec.error(p, "map." + key + " must have increasing x");
        m.emplace_back(x, y);
      }
      (key == "mean_logprob" ? s.mean_map : s.entropy_map) = std::move(m);
    }
  }
  return std::unique_ptr<Judge>(std::make_unique<LogprobsJudge>(std::move(s)));
}

const JudgeRegistrar kLogprobsJudge("logprobs", make_logprobs_judge);

}  // namespace
}  // namespace switchboard::judges
