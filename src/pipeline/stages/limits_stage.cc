// `limits`: what the presented key may do, and how much (docs/keys.md). After `parse` (it needs the
// named route or model, the routing headers and the prompt's token estimate), before `guard`;
// present only when the config has an `auth:` section. Requests without a key pass (metered).
//
//   403 model_not_allowed       the key may not name this route or model
//   403 objective_not_allowed   x-switchboard-objective / -lambda / -max-cost the key may not use
//   429 budget_exceeded         the key's daily or monthly USD budget is spent
//   429 rate_limit_exceeded     over its requests or tokens per minute
//   503 rate_limit_state_unavailable  `state.fail_open: false` and Redis unreachable
// Refusals carry retry-after (429) and x-ratelimit-{limit,remaining,reset}-{requests,tokens}; so
// does every answer of a rate-limited key. The key's counters are checked and counted in memory
// (access/limiter.h; shared through Redis by a background thread with `state:`), never waiting on
// I/O. For a key with a budget, the request's most expensive possible cost is reserved in the
// budgets at admission, and a hook on the final plan (RequestContext::on_plan) replaces it with
// the plan's estimated cost (pipeline/spend_estimate.h), so that requests running at once see
// each other's spend from the moment they are admitted. An after-answer hook (RequestContext::after_answer) then settles the
// request: actual tokens replace the estimate, its actual cost replaces the reservation, the usage
// meter and the per-key metrics get it. POST /v1/route checks permissions only (it counts nothing).
#include <atomic>
#include <chrono>

#include "access/service.h"
#include "core/wall_clock.h"
#include "pipeline/request_context.h"
#include "pipeline/spend_estimate.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class LimitsStage final : public SyncStage {
 public:
  LimitsStage(std::shared_ptr<access::AccessService> service, const config::Config& config)
      : service_(std::move(service)),
        means_(CompletionMeans::continued(config)),  // kept across config reloads
        routes_(std::make_shared<RouteModels>(config)) {}
  std::string_view name() const override { return "limits"; }
  bool required() const override { return true; }

  StageResult run_now(RequestContext& ctx) const override {
    if (ctx.trusted) return StageResult::next();
    auto key = ctx.api_key;
    if (!key) {
      if (!ctx.explain_only) settle_later(ctx, nullptr, {});
      return StageResult::next();
    }
    const access::Key& k = key->key;
    // What it may ask for.
    const bool is_route = ctx.route != nullptr;
    if (!k.may_name(ctx.req.model, is_route)) {
      return refuse(ctx, key, {},
                       make_error(ErrorKind::kForbidden, "model_not_allowed",
                                  "key '" + k.name + "' may not use " +
                                      (is_route ? "route" : "model") + " '" + ctx.req.model + "'"),
                       "forbidden");
    }
    for (const auto& [header, objective] : objective_headers(ctx)) {
      if (k.may_use_objective(objective)) continue;
      return refuse(
          ctx, key, {},
          make_error(ErrorKind::kForbidden, "objective_not_allowed",
                     "key '" + k.name + "' may not use " + std::string(header) +
                         (header == "x-switchboard-objective" ? ": " + std::string(objective)
                                                              : std::string())),
          "forbidden");
    }
    if (ctx.explain_only) return StageResult::next();
    // How much.
    if (service_->has_redis() && ctx.metrics) watch_state(*ctx.metrics);
    if (k.limits.any() && !service_->state_up() && !service_->fail_open()) {
      return refuse(
          ctx, key, {},
          make_error(ErrorKind::kUnavailable, "rate_limit_state_unavailable",
                     "the shared rate-limit state is unreachable and the gateway is "
                     "configured to fail closed (state.fail_open: false); retry later"),
          "rate_limit_state_unavailable");
    }
    // Tokens reserved: the prompt's estimate plus what the answers may take (max_tokens for each
    // of the `n` choices, as OpenAI counts them; both bounded by the parser, so no overflow),
    // corrected once answered.
    const std::int64_t reserved =
        ctx.signals.prompt_tokens + ctx.req.choices * ctx.req.max_tokens.value_or(0);
    access::Admission a = service_->limiter().admit(k, reserved, unix_ms());
    ctx.limit_headers = a.headers;
    if (!a.ok) {
      return refuse(ctx, key, a, std::move(*a.error), a.outcome);
    }
    if (has_budget(k))
      service_->limiter().reserve_spend(k, a, admission_spend_estimate(ctx, *means_, *routes_));
    service_->kick();
    settle_later(ctx, key, std::move(a));
    return StageResult::next();
  }

 private:
  // The objectives the request asks for, by the header that asks.
  static std::vector<std::pair<std::string_view, std::string_view>> objective_headers(
      const RequestContext& ctx) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    if (auto v = ctx.headers.find("x-switchboard-objective"))
      out.emplace_back("x-switchboard-objective", *v);
    if (ctx.headers.find("x-switchboard-lambda"))
      out.emplace_back("x-switchboard-lambda", "lambda");
    if (ctx.headers.find("x-switchboard-max-cost"))
      out.emplace_back("x-switchboard-max-cost", "max_cost");
    return out;
  }

  StageResult refuse(RequestContext& ctx, const std::shared_ptr<const access::LiveKey>& key,
                     access::Admission a, Error e, const char* outcome) const {
    if (ctx.metrics) ctx.metrics->auth_refusals.with({e.code}).inc();
    if (!ctx.explain_only) settle_later(ctx, key, std::move(a));
    return StageResult::fail(std::move(e), outcome);
  }

  // Once routed, reserve a budgeted key's estimated spend; after the answer, settle the counters,
  // meter, count per key.
  void settle_later(RequestContext& ctx, std::shared_ptr<const access::LiveKey> key,
                    access::Admission admission) const {
    // A request cut before its after-answer hooks ran (its coroutine destroyed by a shutdown's
    // drain timeout) keeps what it reserved counted: it may well have been billed.
    auto a = std::make_shared<access::Admission>(std::move(admission));
    if (key && a->counted && has_budget(key->key)) {
      ctx.on_plan.push_back([service = service_, means = means_, key, a](RequestContext& c) {
        service->limiter().reserve_spend(key->key, *a, plan_spend_estimate(c, *means));
        service->kick();  // other gateways see the reservation at the next sync
      });
    }
    // A plan of several calls reserves tokens for each (admission counted one).
    if (key && a->counted && key->key.limits.tokens_per_minute > 0) {
      ctx.on_plan.push_back([service = service_, key, a](RequestContext& c) {
        const std::int64_t calls = plan_calls_at_most(c);
        if (calls <= 1) return;
        service->limiter().reserve_tokens(key->key, *a, a->estimated_tokens * calls);
        service->kick();
      });
    }
    // Every routed request teaches the admission estimate which models its route may use.
    ctx.on_plan.push_back([routes = routes_](RequestContext& c) { routes->saw(c); });
    ctx.after_answer.push_back(
        [service = service_, means = means_, key = std::move(key), a = std::move(a)](RequestContext& c) {
          const auto& rec = c.rec;
          observe_completions(*means, rec, c.req.choices, c.req.max_tokens);
          const std::int64_t tokens = rec.prompt_tokens + rec.completion_tokens;
          const bool refused = rec.outcome == "forbidden" || rec.outcome == "rate_limited" ||
                               rec.outcome == "budget_exceeded" ||
                               rec.outcome == "rate_limit_state_unavailable";
          if (key) {
            service->limiter().settle(key->key, *a, tokens, rec.cost_usd, unix_ms());
            if (a->counted) service->kick();
            if (auto* m = c.metrics) {
              const std::string outcome = rec.outcome.empty() ? std::string("ok") : rec.outcome;
              m->key_requests.with({key->label, key->team_label, outcome}).inc();
              if (tokens > 0)
                m->key_tokens.with({key->label, key->team_label}).inc(static_cast<double>(tokens));
              if (rec.cost_usd > 0)
                m->key_cost.with({key->label, key->team_label}).inc(rec.cost_usd);
            }
          }
          access::UsageEvent e;
          e.time_ms = rec.time_ms ? rec.time_ms : unix_ms();
          if (key) {
            e.key = key->key.name;
            e.key_id = key->key.id;
            e.team = key->key.team;
          }
          // A name the client made up (404 model_not_found) is metered as "other": one row per
          // invented name would grow the usage table without bound.
          const config::Config& cfg = *c.runtime->config;
          e.route = cfg.find_route(rec.route) || cfg.find_model(rec.route) || !c.adapter.empty()
                        ? rec.route
                        : "other";
          e.model = rec.model;
          e.refused = refused;
          e.prompt_tokens = rec.prompt_tokens;
          e.completion_tokens = rec.completion_tokens;
          e.cost_usd = rec.cost_usd;
          service->meter(std::move(e));
        });
  }

  static bool has_budget(const access::Key& k) {
    return k.limits.usd_per_day > 0 || k.limits.usd_per_month > 0;
  }

  // What each model that answered took per choice (the means are per choice: estimates multiply
  // them by `n`), for every call of a multi-call plan; a cached answer was not generated now. An
  // answer that reached the request's max_tokens was cut short: it says nothing of how long the
  // model answers (and a key sending many `max_tokens: 1` requests would otherwise shrink every
  // key's reservations for that model). Answers within a limit count: Messages clients always
  // send one.
  static void observe_completions(CompletionMeans& means, const store::DecisionRecord& rec,
                                  std::int64_t choices, std::optional<std::int64_t> max_tokens) {
    if (rec.status != 200 || (rec.cache && rec.cache->status == "hit")) return;
    auto observe = [&](const std::string& model, std::int64_t completion_tokens) {
      const std::int64_t per_choice = completion_tokens / choices;
      if (max_tokens && per_choice >= *max_tokens) return;
      means.observe(model, per_choice);
    };
    if (rec.calls.empty()) return observe(rec.model, rec.completion_tokens);
    for (const auto& call : rec.calls) observe(call.model, call.completion_tokens);
  }

  // /metrics shows the Redis state from then on (read at each scrape, not only on requests),
  // until the stage is replaced (the next one hooks on its first request) or the state is gone
  // (a reload removed Redis: the series leave the exposition).
  void watch_state(metrics::GatewayMetrics& m) const {
    if (hooked_.load(std::memory_order_acquire) == &m || hooked_.exchange(&m) == &m) return;
    m.ratelimit_state_present.store(true, std::memory_order_relaxed);
    m.add_render_hook([&m, weak = std::weak_ptr<access::AccessService>(service_),
                       stage = std::weak_ptr<const void>(alive_)] {
      // Gone, or the stage replaced (a request still running may hold the service past it): the
      // series leave, and a newer stage's hook, run later in the same scrape, shows them again.
      auto service = weak.lock();
      if (!service || stage.expired()) {
        m.ratelimit_state_present.store(false, std::memory_order_relaxed);
        return false;
      }
      m.ratelimit_state_present.store(true, std::memory_order_relaxed);
      m.ratelimit_state_up.set(service->state_up() ? 1 : 0);
      m.ratelimit_state_errors.set(static_cast<std::int64_t>(service->state_errors()));
      m.ratelimit_state_syncs.set(static_cast<std::int64_t>(service->state_syncs()));
      return true;
    });
  }

  std::shared_ptr<access::AccessService> service_;
  // Shared with the hooks, which may outlive the stage (a request running across a reload).
  std::shared_ptr<CompletionMeans> means_;
  std::shared_ptr<RouteModels> routes_;
  mutable std::atomic<metrics::GatewayMetrics*> hooked_{nullptr};
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);  // the hook's "stage lives"
};

const StageRegistrar kRegister("limits",
                               [](const StageContext& sc) -> Result<std::unique_ptr<Stage>> {
                                 auto settings = access::parse_access_settings(sc.config);
                                 if (!settings) return settings.error();
                                 if (!settings->configured) return std::unique_ptr<Stage>();
                                 auto service = access::AccessService::acquire(*settings);
                                 if (!service) return service.error();
                                 return std::unique_ptr<Stage>(
                                     std::make_unique<LimitsStage>(std::move(*service), sc.config));
                               });

}  // namespace
}  // namespace switchboard::pipeline
