// "cascade": the plan's tiers in order. A tier's models are called in parallel (buffered); its
// judge scores the answers that came back; at or above the tier's threshold (or when the judge
// cannot score and the tier says `accept`) the tier's answer is final, otherwise the next tier is
// called. The answer of a tier is its first answer whose extracted form is the majority's (the
// judge's Verdict::extracted), else its first answer. A tier whose every call failed escalates;
// when no later tier answers (or a bound stops the plan) the last answer obtained is delivered.
// Models an earlier tier already called are not called again: when a later tier lists one, its
// earlier answer joins that tier's answers (first in the tier's order), so a tier [first, probe]
// after a tier [first] calls only the probe and judges the two answers together (ACAR's single →
// two-model step). Bounds: plan.bounds (Spend).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "pipeline/client_watch.h"
#include "pipeline/plans/multi_call.h"

namespace switchboard::pipeline::plans {
namespace {

// The index (into `answered`) of the answer a tier stands for.
std::size_t tier_answer(const Verdict& v, std::size_t n) {
  if (v.extracted.size() != n) return 0;
  // An answer with nothing extracted agrees with no one.
  std::map<std::string_view, int> count;
  for (const auto& e : v.extracted)
    if (!e.empty()) ++count[e];
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (!v.extracted[i].empty() && count[v.extracted[i]] > count[v.extracted[best]]) best = i;
  return best;
}

class CascadePlan final : public PlanRunner {
 public:
  asio::awaitable<StageResult> run(RequestContext& ctx, const Plan& plan) const override {
    Spend spend(plan.bounds, Clock::now());
    const std::string body = api::buffered_call_body(ctx.body, ctx.req.model, false);
    const bool any_logprobs = std::any_of(plan.tiers.begin(), plan.tiers.end(),
                                          [](const PlanTier& t) { return t.logprobs; });
    const std::string body_logprobs =
        any_logprobs ? api::buffered_call_body(ctx.body, ctx.req.model, true) : std::string();
    std::vector<MemberAnswer> all;  // every call, for the failure path
    std::vector<std::string> called;
    std::vector<std::optional<std::size_t>>
        all_of_called;                // per name in `called`: its index in `all`
    std::optional<std::size_t> best;  // index in `all` of the latest tier's answer
    std::string stopped;
    for (std::size_t t = 0; t < plan.tiers.size(); ++t) {
      const PlanTier& tier = plan.tiers[t];
      std::vector<const ModelRuntime*> models;
      std::vector<std::size_t> reused;  // indices in `all` of earlier answers this tier lists
      for (const auto& name : tier.models) {
        if (auto c = std::find(called.begin(), called.end(), name); c != called.end()) {
          const auto at = static_cast<std::size_t>(c - called.begin());
          if (at < all_of_called.size() && all_of_called[at] && all[*all_of_called[at]].ok())
            reused.push_back(*all_of_called[at]);
          continue;
        }
        models.push_back(ctx.runtime->find_model(name));
        called.push_back(name);
      }
      if (models.empty()) continue;
      if (client_left(ctx)) {
        stopped = "client_gone";
        break;
      }
      std::string why;
      const std::size_t allowed = spend.allowed(models, ctx, why);
      if (allowed == 0) {
        stopped = why;
        break;
      }
      if (allowed < models.size()) {
        models.resize(allowed);
        ctx.rec.reason += fmt::format("; tier {} cut to {} call(s) by {}", t, allowed, why);
      }
      const bool last = t + 1 == plan.tiers.size();
      const std::string& tier_body = tier.logprobs ? body_logprobs : body;
      std::vector<MemberAnswer> answers =
          co_await call_parallel(ctx, models, tier_body, static_cast<int>(t), last, spend);
      const std::size_t base = all.size();
      for (auto& a : answers) all.push_back(std::move(a));
      // `called` gained one name per call made, in order: map each to its answer in `all`.
      for (std::size_t i = base; i < all.size(); ++i) all_of_called.push_back(i);
      all_of_called.resize(called.size());
      std::vector<MemberAnswer*> answered;
      std::vector<std::size_t> index;
      for (std::size_t i : reused) {
        answered.push_back(&all[i]);
        index.push_back(i);
      }
      for (std::size_t i = base; i < all.size(); ++i)
        if (all[i].ok()) {
          answered.push_back(&all[i]);
          index.push_back(i);
        }
      if (answered.empty()) {
        ctx.rec.reason += fmt::format("; tier {} gave no answer", t);
        continue;
      }
      bool accept = last || !tier.judge;
      std::size_t pick = 0;
      if (tier.judge) {
        const auto inputs = judge_answers(answered);
        const Verdict v = tier.judge->judge(JudgeInput{ctx.req.prompt_text, inputs});
        pick = tier_answer(v, answered.size());
        std::string note;
        if (!v.available) {
          const bool take = tier.on_unavailable == OnUnavailable::kAccept;
          note = fmt::format("{} unavailable ({}): {}", tier.judge_name, v.note,
                             last   ? "final tier"
                             : take ? "accept"
                                    : "escalate");
          accept = accept || take;
        } else {
          const bool sure = v.confidence >= tier.threshold;
          note = fmt::format("{} {:.3f} {} {:g}: {}", tier.judge_name, v.confidence,
                             sure ? ">=" : "<", tier.threshold,
                             sure   ? "accept"
                             : last ? "final tier"
                                    : "escalate");
          if (!v.note.empty()) note += " (" + v.note + ")";
          accept = accept || sure;
        }
        for (std::size_t i = 0; i < answered.size(); ++i) {
          auto& rec = ctx.rec.calls[answered[i]->call];
          if (i < reused.size()) {  // judged again by a later tier: its first verdict stays
            rec.note += fmt::format("; tier {}: {}", t, note);
            if (rec.extracted.empty() && i < v.extracted.size())
              rec.extracted = v.extracted[i].substr(0, 64);
            continue;
          }
          if (v.available) rec.score = i < v.scores.size() ? v.scores[i] : v.confidence;
          if (i < v.extracted.size()) rec.extracted = v.extracted[i].substr(0, 64);
          rec.note = note;
        }
      }
      best = index[pick];
      if (accept) break;
    }
    if (!stopped.empty()) ctx.rec.reason += "; stopped by " + stopped;
    if (best) {
      ctx.rec.reason += fmt::format("; answered by tier {} after {} call(s)",
                                    ctx.rec.calls[all[*best].call].tier, spend.calls());
      co_return co_await deliver_final(ctx, all[*best], spend);
    }
    co_return co_await deliver_failure(ctx, all, spend);
  }
};

const PlanRunnerRegistrar kRegister("cascade", [] { return std::make_unique<CascadePlan>(); });

}  // namespace
}  // namespace switchboard::pipeline::plans
