#include "pipeline/request_metrics.h"

#include <string>

namespace switchboard::pipeline {

metrics::Histogram& upstream_latency_series(RequestContext& ctx, const ModelRuntime& model,
                                            const Replica& replica) {
  auto& family = ctx.metrics->upstream_latency;
  const auto& id = replica.config->id;
  if (model.metric_slots && replica.ordinal < model.metric_slots->own_replicas &&
      model.replicas[replica.ordinal].get() == &replica)
    return model.metric_slots->upstream_latency[replica.ordinal].get(family,
                                                                     {model.config->name, id});
  return family.with({model.config->name, id});
}

namespace {

// The slots of the request's label set on the replica that answered, when the runtime has them:
// a route named by the client, or a model named directly (not a LoRA adapter: its label differs).
ReplicaSlots* slots_of(const RequestContext& ctx) {
  if (!ctx.replica || !ctx.model || ctx.rec.replica != ctx.replica->config->id ||
      ctx.rec.model != ctx.replica->model)
    return nullptr;
  if (ctx.route) {
    if (!ctx.route->metric_slots || ctx.route_label != ctx.route->config->name) return nullptr;
    return ctx.route->metric_slots->by_replica.at(ctx.replica->index);
  }
  if (!ctx.model->metric_slots || ctx.route_label != ctx.model->config->name ||
      ctx.replica->model != ctx.model->config->name)
    return nullptr;
  return ctx.model->metric_slots->direct.at(ctx.replica->ordinal);
}

}  // namespace

void count_request(RequestContext& ctx) {
  auto* m = ctx.metrics;
  if (!m) return;
  const auto& rec = ctx.rec;
  const double seconds = rec.latency_ms / 1000;
  ReplicaSlots* slots = slots_of(ctx);
  if (slots && rec.status == 200 && rec.api == kSlottedApi) {
    slots->ok.get(m->requests, {ctx.route_label, rec.model, rec.replica, "200", kSlottedApi})
        .inc();
  } else {
    m->requests
        .with({ctx.route_label, rec.model, rec.replica, std::to_string(rec.status), rec.api})
        .inc();
  }
  if (slots) {
    slots->latency.get(m->latency, {ctx.route_label, rec.model, rec.replica}).observe(seconds);
  } else {
    m->latency.with({ctx.route_label, rec.model, rec.replica}).observe(seconds);
  }
  if (!(rec.prompt_tokens || rec.completion_tokens || rec.cost_usd > 0) || rec.model.empty())
    return;
  if (!rec.calls.empty()) {  // a multi-call plan: each call's tokens and cost under its own model
    double by_calls = 0;
    for (const auto& c : rec.calls) {
      m->tokens.with({c.model, "prompt"}).inc(static_cast<double>(c.prompt_tokens));
      m->tokens.with({c.model, "completion"}).inc(static_cast<double>(c.completion_tokens));
      m->cost.with({c.model}).inc(c.cost_usd);
      by_calls += c.cost_usd;
    }
    if (rec.cost_usd > by_calls) m->cost.with({rec.model}).inc(rec.cost_usd - by_calls);
    return;
  }
  const auto prompt = static_cast<double>(rec.prompt_tokens);
  const auto completion = static_cast<double>(rec.completion_tokens);
  if (ModelSlots* ms = ctx.model ? ctx.model->metric_slots.get() : nullptr;
      ms && rec.model == ctx.model->config->name) {
    ms->prompt_tokens.get(m->tokens, {rec.model, "prompt"}).inc(prompt);
    ms->completion_tokens.get(m->tokens, {rec.model, "completion"}).inc(completion);
    ms->cost.get(m->cost, {rec.model}).inc(rec.cost_usd);
    return;
  }
  m->tokens.with({rec.model, "prompt"}).inc(prompt);
  m->tokens.with({rec.model, "completion"}).inc(completion);
  m->cost.with({rec.model}).inc(rec.cost_usd);
}

}  // namespace switchboard::pipeline
