// `implicit_feedback`: the same client asking the same prompt of the same route again within
// `window_s` counts as a negative score for the first answer (docs/online.md).
//
// Settings (top level): `feedback: {implicit: {window_s: N, score: 0, max_entries: 100000}}`;
// without them the stage is left out. The stage's factory checks the whole `feedback:` section,
// `context_cache:` included (pipeline/learning/context_cache.h), so a bad one stops start-up and
// is refused by a reload. The client is the API key's name when the request has one
// (docs/keys.md), else its IP address; the prompt is every message's text (ChatRequest's
// prompt_text). When a request arrives, the answered decision stored under (client, route,
// prompt) no longer than window_s ago is taken out and handed to RequestContext::implicit (the
// gateway stores it as feedback of kind `implicit` — unless the decision already has feedback —
// and gives it to the route's learning policy like POST /v1/feedback's). Once this request is
// answered (outcome ok), its own decision is stored under the same key. Memory: a RepeatTracker
// (bounded, LRU + window). Gateways sharing state (`state: {redis: URL}`) also keep the table in
// Redis (pipeline/learning/shared_repeats.h): a repeat the local table does not know is looked up
// there, and one asked on another gateway scores the answer where it was given. The stage runs
// before `cache`: a repeat it finds here sets RequestContext::repeat, and the cache stage then
// answers it afresh (and stores the new answer) instead of serving the same answer again.
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "pipeline/learning/context_cache.h"
#include "pipeline/learning/repeat_tracker.h"
#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class ImplicitFeedbackStage final : public SyncStage {
 public:
  std::string_view name() const override { return "implicit_feedback"; }

  static Result<std::unique_ptr<Stage>> build(const config::Config& config) {
    auto it = config.sections.find("feedback");
    if (it == config.sections.end()) return std::unique_ptr<Stage>();
    const YAML::Node& node = it->second;
    auto where = [&config](const YAML::Node& n) {
      return fmt::format("{}:{}:{}", config.source, n.Mark().line + 1, n.Mark().column + 1);
    };
    auto bad = [&](const YAML::Node& n, const std::string& why) {
      return make_error(ErrorKind::kBadRequest, "bad_config", where(n) + ": feedback" + why);
    };
    if (!node.IsMap()) return bad(node, " must be a mapping");
    for (const auto& kv : node)
      if (kv.first.Scalar() != "implicit" && kv.first.Scalar() != "context_cache")
        return bad(kv.first,
                   ": unknown key '" + kv.first.Scalar() + "' (known: implicit, context_cache)");
    if (auto limits = learning::parse_context_limits(config); !limits) return limits.error();
    const YAML::Node implicit = node["implicit"];
    if (!implicit) return std::unique_ptr<Stage>();
    if (!implicit.IsMap()) return bad(implicit, ".implicit must be a mapping");
    double window_s = 0, score = 0;
    std::int64_t max_entries = 100'000;
    for (const auto& kv : implicit) {
      const std::string key = kv.first.Scalar();
      try {
        if (key == "window_s") {
          window_s = kv.second.as<double>();
          if (!(window_s > 0 && window_s <= 86400))
            return bad(kv.second, ".implicit.window_s must be in (0, 86400] seconds");
        } else if (key == "score") {
          score = kv.second.as<double>();
          if (!(score >= 0 && score <= 1))
            return bad(kv.second, ".implicit.score must be in [0, 1]");
        } else if (key == "max_entries") {
          max_entries = kv.second.as<std::int64_t>();
          if (max_entries < 1 || max_entries > 100'000'000)
            return bad(kv.second, ".implicit.max_entries must be in [1, 100000000]");
        } else {
          return bad(kv.first,
                     ".implicit: unknown key '" + key + "' (known: window_s, score, max_entries)");
        }
      } catch (const YAML::Exception&) {
        return bad(kv.second, ".implicit." + key + " has the wrong type");
      }
    }
    if (!(window_s > 0)) return bad(implicit, ".implicit.window_s is required");
    auto stage = std::make_unique<ImplicitFeedbackStage>();
    stage->score_ = score;
    stage->tracker_ = std::make_shared<learning::RepeatTracker>(
        static_cast<std::int64_t>(window_s * 1000), static_cast<std::size_t>(max_entries));
    return std::unique_ptr<Stage>(std::move(stage));
  }

  StageResult run_now(RequestContext& ctx) const override {
    // A request with a file, or a native-only one, has content its prompt text misses (two PDFs
    // asked the same question are not a repeat), so it is never taken for one.
    if (!ctx.route || !ctx.implicit || ctx.explain_only || ctx.kind != RequestKind::kChat ||
        !ctx.native_only.empty() || ctx.req.has_files)
      return StageResult::next();
    std::string client = ctx.api_key ? "key:" + ctx.api_key->key.id
                                     : "ip:" + (ctx.client_address ? ctx.client_address() : "");
    const std::uint64_t key =
        learning::repeat_key(client, ctx.route->config->name, ctx.req.prompt_text);
    if (auto previous = tracker_->take(key, steady_ms())) {
      ctx.repeat = true;
      ctx.implicit->implicit_feedback(std::move(*previous), score_);
      ctx.implicit->fleet_forget(key);
    } else {
      ctx.implicit->fleet_asked(key, score_);  // answered on another gateway, maybe
    }
    ctx.after_answer.push_back([tracker = tracker_, key](RequestContext& c) {
      if (c.error || c.rec.status != 200 || c.rec.outcome != "ok") return;
      tracker->put(key, c.rec.id, steady_ms());
      c.implicit->fleet_answered(key, c.rec.id, std::chrono::milliseconds(tracker->window_ms()));
    });
    return StageResult::next();
  }

 private:
  double score_ = 0;
  std::shared_ptr<learning::RepeatTracker> tracker_;
};

const StageRegistrar kRegister("implicit_feedback", [](const StageContext& c) {
  return ImplicitFeedbackStage::build(c.config);
});

}  // namespace
}  // namespace switchboard::pipeline
