// "ensemble": the members (plan.tiers[0].models) are called in parallel (buffered) and their
// answers aggregated (plan.aggregate):
//   vote       — groups the answers by their extracted form (the judge's Verdict::extracted, else
//                the trimmed text; an answer with nothing extracted is a group of its own); the
//                largest group wins, ties go to the group whose best member
//                has the highest predicted quality, then to the earliest member; the group's member
//                of highest predicted quality (then the earliest) answers.
//   best-of    — the answer with the highest judge score (Verdict::scores); vote when the judge
//                cannot score.
//   synthesize — the aggregator model gets the prompt and the answers in the plan's template and
//                its answer is final; vote when it fails or a bound forbids the call.
// Failed members are skipped; when none answers, the failure path of multi_call.h.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "pipeline/client_watch.h"
#include "pipeline/plans/multi_call.h"

namespace switchboard::pipeline::plans {
namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

double quality_of(const Plan& plan, const std::vector<std::size_t>& member, std::size_t i) {
  const auto& q = plan.aggregate.member_quality;
  return member[i] < q.size() ? q[member[i]] : -1;
}

// The winner of a vote over `keys` (one per answer); `member[i]` = the answer's member index.
std::size_t vote(const Plan& plan, const std::vector<std::string>& keys,
                 const std::vector<std::size_t>& member) {
  struct Group {
    int count = 0;
    double best_quality = -2;
    std::size_t first = 0, pick = 0;
  };
  std::map<std::string_view, Group> groups;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto [it, fresh] = groups.try_emplace(keys[i]);
    Group& g = it->second;
    if (fresh) g.first = i;
    ++g.count;
    const double q = quality_of(plan, member, i);
    if (q > g.best_quality) {
      g.best_quality = q;
      g.pick = i;
    }
  }
  const Group* win = nullptr;
  for (const auto& [_, g] : groups) {
    if (!win || g.count > win->count ||
        (g.count == win->count && (g.best_quality > win->best_quality ||
                                   (g.best_quality == win->best_quality && g.first < win->first))))
      win = &g;
  }
  return win->pick;
}

std::string fill_template(const std::string& tpl, std::string_view prompt,
                          const std::vector<MemberAnswer*>& answered) {
  std::string answers;
  for (std::size_t i = 0; i < answered.size(); ++i)
    answers += fmt::format("Answer {} ({}):\n{}{}{}\n\n", i + 1, answered[i]->model->config->name,
                           answered[i]->answer->content,
                           answered[i]->answer->tool_calls.empty() ? "" : "\nTool calls:\n",
                           answered[i]->answer->tool_calls);
  std::string out;
  for (std::size_t i = 0; i < tpl.size();) {
    if (tpl.compare(i, 8, "{prompt}") == 0) {
      out += prompt;
      i += 8;
    } else if (tpl.compare(i, 9, "{answers}") == 0) {
      out += answers;
      i += 9;
    } else {
      out += tpl[i++];
    }
  }
  return out;
}

class EnsemblePlan final : public PlanRunner {
 public:
  asio::awaitable<StageResult> run(RequestContext& ctx, const Plan& plan) const override {
    Spend spend(plan.bounds, Clock::now());
    const Aggregate& agg = plan.aggregate;
    std::vector<const ModelRuntime*> models;
    if (!plan.tiers.empty())
      for (const auto& name : plan.tiers[0].models) models.push_back(ctx.runtime->find_model(name));
    std::string why;
    const std::size_t allowed = spend.allowed(models, ctx, why);
    if (allowed < models.size()) {
      models.resize(std::max<std::size_t>(allowed, 1));
      ctx.rec.reason += fmt::format("; {} member(s) called ({})", models.size(), why);
    }
    const bool logprobs = !plan.tiers.empty() && plan.tiers[0].logprobs;
    const std::string body = api::buffered_call_body(ctx.body, ctx.req.model, logprobs);
    std::vector<MemberAnswer> all =
        co_await call_parallel(ctx, models, body, 0, agg.kind != "synthesize", spend);
    std::vector<MemberAnswer*> answered;
    std::vector<std::size_t> member;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].ok()) {
        answered.push_back(&all[i]);
        member.push_back(i);
      }
    if (answered.empty()) co_return co_await deliver_failure(ctx, all, spend);

    std::optional<Verdict> verdict;
    if (agg.judge) {
      const auto inputs = judge_answers(answered);
      verdict = agg.judge->judge(JudgeInput{ctx.req.prompt_text, inputs});
    }
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < answered.size(); ++i) {
      if (verdict && verdict->extracted.size() == answered.size())
        keys.push_back(verdict->extracted[i]);
      else if (!answered[i]->answer->tool_calls.empty())  // the same calls vote together
        keys.push_back("tool call: " + answered[i]->answer->tool_calls);
      else
        keys.emplace_back(trimmed(answered[i]->answer->content));
      // Nothing extracted: a vote of its own, never the same as another empty one.
      if (keys.back().empty()) keys.back() = fmt::format("\x01{}", i);
    }
    std::size_t pick = vote(plan, keys, member);
    std::string how = "vote";
    if (agg.kind == "best-of" && verdict && verdict->available &&
        verdict->scores.size() == answered.size()) {
      how = "best-of";
      for (std::size_t i = 1; i < answered.size(); ++i) {
        const double a = verdict->scores[i], b = verdict->scores[pick];
        if (a > b || (a == b && quality_of(plan, member, i) > quality_of(plan, member, pick)))
          pick = i;
      }
    } else if (agg.kind == "best-of") {
      how = "vote (best-of judge could not score)";
    }
    // Per call: the judge's score of the answer, else its share of the votes.
    for (std::size_t i = 0; i < answered.size(); ++i) {
      auto& rec = ctx.rec.calls[answered[i]->call];
      if (verdict && verdict->available && i < verdict->scores.size()) {
        rec.score = verdict->scores[i];
      } else {
        const auto same = std::count(keys.begin(), keys.end(), keys[i]);
        rec.score = static_cast<double>(same) / static_cast<double>(keys.size());
      }
      if (keys[i][0] != '\x01') rec.extracted = keys[i].substr(0, 64);
      if (verdict && !verdict->note.empty()) rec.note = agg.judge_name + ": " + verdict->note;
    }

    if (agg.kind == "synthesize" && !agg.model.empty() && !client_left(ctx)) {
      // The question is the last user turn; the conversation before it stays in the messages.
      std::string_view question = ctx.req.prompt_text;
      for (auto it = ctx.req.messages.rbegin(); it != ctx.req.messages.rend(); ++it)
        if (it->role == "user") {
          question = ctx.req.text_of(*it);
          break;
        }
      const std::string prompt = fill_template(agg.prompt_template, question, answered);
      std::vector<const ModelRuntime*> aggregator{ctx.runtime->find_model(agg.model)};
      // The synthesis prompt (the question and the answers) follows the request's messages:
      // priced as both.
      const auto prompt_tokens = ctx.req.estimated_prompt_tokens +
                                 static_cast<std::int64_t>(api::estimate_tokens(prompt.size()));
      std::size_t more = spend.allowed(aggregator, ctx, why, prompt_tokens);
      // The conversation, the question again and every answer: too long for the aggregator's
      // context window, it would be refused upstream; the vote answers instead.
      const std::int64_t window = aggregator[0] ? aggregator[0]->config->context_window : 0;
      if (more > 0 && window > 0 && prompt_tokens + ctx.req.max_tokens.value_or(0) > window) {
        why = fmt::format("its prompt of ~{} tokens and the answer do not fit {}'s context window of {}",
                          prompt_tokens, agg.model, window);
        more = 0;
      }
      if (more == 0) {
        ctx.rec.reason += "; no synthesis (" + why + "), vote";
      } else {
        const std::string synth_body = api::synthesis_call_body(ctx.body, agg.model, prompt);
        std::vector<MemberAnswer> out =
            co_await call_parallel(ctx, aggregator, synth_body, 1, true, spend, prompt_tokens);
        if (out[0].ok()) {
          ctx.rec.reason +=
              fmt::format("; synthesized by {} from {} answer(s)", agg.model, answered.size());
          MemberAnswer final = std::move(out[0]);
          co_return co_await deliver_final(ctx, final, spend);
        }
        ctx.rec.reason += "; synthesis failed, vote";
      }
    }
    ctx.rec.reason += fmt::format("; {} of {} answer(s)", how, answered.size());
    co_return co_await deliver_final(ctx, *answered[pick], spend);
  }
};

const PlanRunnerRegistrar kRegister("ensemble", [] { return std::make_unique<EnsemblePlan>(); });

}  // namespace
}  // namespace switchboard::pipeline::plans
