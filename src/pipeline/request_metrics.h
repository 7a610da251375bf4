// The per-request metrics of the gateway (switchboard_requests_total, _request_duration_seconds,
// _upstream_duration_seconds, _tokens_total, _cost_usd_total), updated through the series slots
// of the runtime's routes and models (pipeline/metric_slots.h) when the labels are theirs, through
// Family::with() otherwise. Same series, same values either way.
#pragma once

#include "metrics/metrics.h"
#include "pipeline/request_context.h"

namespace switchboard::pipeline {

// switchboard_upstream_duration_seconds{model, replica} of `replica` of `model`. ctx.metrics must
// be set.
metrics::Histogram& upstream_latency_series(RequestContext& ctx, const ModelRuntime& model,
                                            const Replica& replica);

// The record stage's metrics of a finished request: its outcome, duration, tokens and cost
// (negative amounts count as 0: metrics::Counter). No-op without ctx.metrics.
void count_request(RequestContext& ctx);

}  // namespace switchboard::pipeline
