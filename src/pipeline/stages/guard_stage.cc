// `guard`: refuses or rewrites unsafe input before anything else sees it (docs/guard.md).
//
// Per route (its `guard:` section over the top-level one; requests naming a model directly get the
// top-level one), in order:
//   pii        personal data and secrets by kind: allow, redact (typed placeholders in the body
//              sent upstream — then every later stage, policies included, sees the redacted
//              text), or block (400 pii_blocked naming the kinds, never the values); the only
//              check an embeddings request gets (its inputs, `user`)
//   jailbreak  the n-gram classifier on the user and tool messages: block (403 prompt_rejected) or
//              route_to a designated safe model
//   domain     distance to the route's example prompts: reject (400 out_of_domain) or route_to
// Before them: a request with parts the checks cannot read (a file part such as a PDF, or what a
// native-only request's translation left out: RequestContext::native_only) is refused (400
// guard_cannot_inspect; check `unreadable` in the record). Images are not refused (the checks do
// not read them either).
// Each check, its verdict and its time go into the decision record (never the matched text).
// POST /v1/route (explain-only) runs the checks and records what they would do, but never refuses,
// so the explanation shows the guard's verdicts beside the decision.
#include <chrono>
#include <map>

#include "api/chat_request.h"
#include "api/embeddings.h"
#include "guard/pii.h"
#include "guard/redact.h"
#include "guard/settings.h"
#include "pipeline/request_context.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

// The text the classifiers read: the user and tool messages (an injection arrives in either;
// "function" is the deprecated name of a tool result, as open to an indirect injection).
std::string untrusted_text(const api::ChatRequest& req) {
  std::string out;
  for (const auto& m : req.messages) {
    if (m.role != "user" && m.role != "tool" && m.role != "function") continue;
    if (!out.empty()) out += '\n';
    out.append(req.text_of(m));
  }
  return out;
}

class GuardStage final : public SyncStage {
 public:
  std::map<std::string, guard::GuardSettings, std::less<>> routes;
  std::optional<guard::GuardSettings> direct;  // the top-level section, for model names

  std::string_view name() const override { return "guard"; }

  StageResult run_now(RequestContext& ctx) const override {
    // An embeddings request's inputs go to a third party like a prompt does: pii applies to them
    // (block, or redact: the vector is then the redacted text's). Jailbreak and domain do not: an
    // embedding model follows no instruction and answers no question.
    const bool embeddings = ctx.kind == RequestKind::kEmbeddings;
    const guard::GuardSettings* g = nullptr;
    if (ctx.route) {
      if (auto it = routes.find(ctx.route->config->name); it != routes.end()) g = &it->second;
    } else if (direct) {
      g = &*direct;
    }
    if (!g) return StageResult::next();
    // Parts the translation left out (native-only: a PDF, a file, a server tool's results) are
    // invisible to every check, so a guarded route refuses the request rather than pass them on
    // unchecked.
    if (!ctx.native_only.empty() || ctx.req.has_files) {
      ctx.rec.guard.push_back({"unreadable", "block", {}, std::nullopt, std::nullopt, "", 0});
      const std::string part = !ctx.native_only.empty() ? std::string(ctx.native_only)
                                                         : std::string("a file part (a PDF, ...)");
      if (!ctx.explain_only)
        return StageResult::fail(
            make_error(ErrorKind::kBadRequest, "guard_cannot_inspect",
                       "this request has a part the guard cannot read (" + part +
                           "); requests with such parts are refused where a guard is on"),
            "guard_blocked");
    }
    if (g->pii && g->pii->scan_mask() && (!embeddings || g->pii->embeddings)) {
      if (auto refused = check_pii(ctx, *g->pii)) return std::move(*refused);
    }
    if (embeddings) return StageResult::next();
    std::string text;
    if (g->jailbreak || g->domain) text = untrusted_text(ctx.req);
    if (g->jailbreak) {
      const auto start = Clock::now();
      const auto& j = *g->jailbreak;
      const double score = j.model->score(text);
      store::GuardCheck c{"jailbreak", "pass", {}, score, j.threshold, "", 0};
      if (score >= j.threshold) c.verdict = j.route_to.empty() ? "block" : "route";
      c.target = c.verdict == "route" ? j.route_to : "";
      c.us = us_since(start);
      ctx.rec.guard.push_back(c);
      if (c.verdict == "block" && !ctx.explain_only)
        return StageResult::fail(
            make_error(ErrorKind::kForbidden, "prompt_rejected",
                       "the request was rejected: it looks like an attempt to override the "
                       "assistant's instructions (jailbreak or prompt injection)"),
            "guard_blocked");
      if (c.verdict == "route") {
        route_to(ctx, j.route_to);
        return StageResult::next();  // the safe model answers; the domain is not checked
      }
    }
    if (g->domain) {
      const auto start = Clock::now();
      const auto& d = *g->domain;
      const double distance = d.model->distance(text);
      store::GuardCheck c{"domain", "pass", {}, distance, d.model->threshold(), "", 0};
      if (distance > d.model->threshold()) c.verdict = d.route_to.empty() ? "reject" : "route";
      c.target = c.verdict == "route" ? d.route_to : "";
      c.us = us_since(start);
      ctx.rec.guard.push_back(c);
      if (c.verdict == "reject" && !ctx.explain_only) {
        const std::string served =
            ctx.route ? "route '" + ctx.route->config->name + "'" : "this gateway";
        return StageResult::fail(
            make_error(ErrorKind::kBadRequest, "out_of_domain",
                       "the request is outside the domain " + served + " serves"),
            "guard_blocked");
      }
      if (c.verdict == "route") route_to(ctx, d.route_to);
    }
    return StageResult::next();
  }

 private:
  static constexpr std::size_t kMaxRedactedSpans = 4096;
  // Scans, then blocks or redacts; returns the failure when the request is refused.
  std::optional<StageResult> check_pii(RequestContext& ctx, const guard::PiiSettings& p) const {
    const auto start = Clock::now();
    const auto& scanner = guard::PiiScanner::instance();
    // Every string the upstream could read (guard::scan_body): the chat body, and the client's own
    // body when it may be passed through to a native replica as it came (its thinking blocks and
    // reasoning items are not in the chat translation).
    const guard::BodyScan chat = guard::scan_body(ctx.body, p.scan_mask());
    guard::BodyScan native;
    if (!ctx.native_body.empty() && ctx.rewritten_body.empty())
      native = guard::scan_body(ctx.native_body, p.scan_mask());
    store::GuardCheck c{"pii", "pass", {}, std::nullopt, std::nullopt, "", 0};
    std::vector<int> counts = chat.counts;
    for (std::size_t k = 0; k < native.counts.size() && k < counts.size(); ++k)
      counts[k] = std::max(counts[k], native.counts[k]);
    const std::size_t found = std::max(chat.matches, native.matches);
    std::string blocked;
    bool redact = false;
    for (std::size_t k = 0; k < counts.size(); ++k) {
      if (!counts[k]) continue;
      if (p.block_mask & (std::uint64_t{1} << k))
        blocked += (blocked.empty() ? "" : ", ") + scanner.kinds()[k];
      else
        redact = true;
    }
    if (!blocked.empty()) {
      c.verdict = "block";
    } else if (redact && found > kMaxRedactedSpans) {
      // Each placeholder is looked up among those made so far, and restoring an answer tries
      // them all: bounded work per request needs a bounded number of them.
      c.verdict = "block";
      for (std::size_t k = 0; k < counts.size(); ++k)
        if (counts[k]) c.kinds.emplace_back(scanner.kinds()[k], counts[k]);
      c.us = us_since(start);
      ctx.rec.guard.push_back(std::move(c));
      if (!ctx.explain_only)
        return StageResult::fail(
            make_error(ErrorKind::kBadRequest, "pii_too_many",
                       "the request holds " + std::to_string(found) +
                           " values this route redacts; it redacts at most " +
                           std::to_string(kMaxRedactedSpans) + " per request"),
            "guard_blocked");
      return std::nullopt;
    } else if (redact && chat.matches == 0) {
      // Only the client's own body holds them, in parts the chat translation leaves out: the
      // translation is sent instead (a replica that needs the native body cannot take it).
      ctx.rewritten_body = std::string(ctx.body);
      ctx.body = ctx.rewritten_body;
      c.verdict = "redact";
    } else if (redact) {
      guard::Redaction r;
      auto body = guard::redact_chat_body(ctx.body, p.redact_mask, r);
      const bool embeddings = ctx.kind == RequestKind::kEmbeddings;
      auto parsed = !body        ? Result<api::ChatRequest>(body.error())
                    : embeddings ? api::parse_embeddings_request(*body)
                                 : api::parse_chat_request(*body);
      if (!parsed) {
        c.us = us_since(start);
        ctx.rec.guard.push_back(c);
        return StageResult::fail(
            make_error(ErrorKind::kInternal, "internal_error",
                       "redacting the request failed: " + parsed.error().message),
            "internal_error");
      }
      ctx.rewritten_body = std::move(*body);
      ctx.body = ctx.rewritten_body;
      ctx.req = std::move(*parsed);
      ctx.route_request.route = ctx.req.model;
      ctx.route_request.prompt_text = ctx.req.prompt_text;
      ctx.signals = signals_for(ctx.req);
      if (p.restore && !embeddings) ctx.restore = std::move(r.placeholders);  // vectors hold no text
      counts = r.counts;
      c.verdict = "redact";
    }
    for (std::size_t k = 0; k < counts.size(); ++k)
      if (counts[k]) c.kinds.emplace_back(scanner.kinds()[k], counts[k]);
    c.us = us_since(start);
    ctx.rec.guard.push_back(std::move(c));
    if (blocked.empty() || ctx.explain_only) return std::nullopt;
    return StageResult::fail(make_error(ErrorKind::kBadRequest, "pii_blocked",
                                        "the request contains data this route does not accept (" +
                                            blocked + "); remove it and retry"),
                             "guard_blocked");
  }

  // The request goes to `model` instead of what the client named (a direct decision).
  static void route_to(RequestContext& ctx, const std::string& model) {
    std::string body = api::rewrite_model(ctx.body, model);
    ctx.rewritten_body = std::move(body);
    ctx.body = ctx.rewritten_body;
    ctx.req.model = model;
    ctx.route_request.route = ctx.req.model;
  }
};

const StageRegistrar kRegister("guard",
                               [](const StageContext& sc) -> Result<std::unique_ptr<Stage>> {
                                 guard::GuardLoader loader(sc.config);
                                 YAML::Node top;
                                 if (auto it = sc.config.sections.find("guard");
                                     it != sc.config.sections.end())
                                   top = it->second;
                                 auto stage = std::make_unique<GuardStage>();
                                 for (const auto& r : sc.config.routes) {
                                   YAML::Node own;
                                   if (auto it = r.sections.find("guard"); it != r.sections.end())
                                     own = it->second;
                                   if (!own && !top) continue;
                                   auto s = loader.settings(own, top);
                                   if (!s) return s.error();
                                   if (s->any()) stage->routes.emplace(r.name, std::move(*s));
                                 }
                                 if (top) {
                                   auto s = loader.settings(YAML::Node(), top);
                                   if (!s) return s.error();
                                   if (s->any()) stage->direct = std::move(*s);
                                 }
                                 // Nothing to check anywhere: the slot is left out (no span,
                                 // no cost per request).
                                 if (stage->routes.empty() && !stage->direct)
                                   return std::unique_ptr<Stage>();
                                 return std::unique_ptr<Stage>(std::move(stage));
                               });

}  // namespace
}  // namespace switchboard::pipeline
