// `parse`: the request body (fully validated JSON) and the routing headers; finds the route the
// client named and its switched-off stages. Required.
#include "api/chat_request.h"
#include "api/embeddings.h"
#include "pipeline/memory_hold.h"
#include "pipeline/request_context.h"
#include "pipeline/routing_headers.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {
namespace {

class ParseStage final : public SyncStage {
 public:
  std::string_view name() const override { return "parse"; }
  bool required() const override { return true; }
  StageResult run_now(RequestContext& ctx) const override {
    if (ctx.read_error)  // the server could not read the body: too large, malformed, over its budget
      return StageResult::fail(*ctx.read_error, ctx.read_error->kind == ErrorKind::kUnavailable
                                                    ? "overloaded"
                                                    : "client_error");
    auto parsed = ctx.kind == RequestKind::kEmbeddings ? api::parse_embeddings_request(ctx.body)
                                                       : api::parse_chat_request(ctx.body);
    if (!parsed) return StageResult::fail(parsed.error(), "client_error");
    // The parsed request and what is built from it (signals, a translation's chat body, records)
    // hold a few nodes per value of the body: held against the server's body budget with it.
    if (ctx.hold_memory)
      if (auto refused = ctx.hold_memory(parsed->json_values * kParsedBytesPerValue))
        return StageResult::fail(*refused, refused->kind == ErrorKind::kUnavailable
                                               ? "overloaded"
                                               : "client_error");
    ctx.req = std::move(*parsed);
    ctx.rec.route = ctx.req.model;
    ctx.rec.stream = ctx.req.stream;
    ctx.route_request = route_request(ctx.req);
    ctx.signals = signals_for(ctx.req);  // the always-present ones
    if (const RouteRuntime* route = ctx.runtime->find_route(ctx.req.model)) {
      ctx.route = route;
      ctx.disabled_stages = route->disabled_stages;
      // A configured name (bounded): what a later stage refuses — a guard, a header — is counted
      // under its route, not with unknown models under "".
      ctx.route_label = route->config->name;
    }
    if (auto bad = apply_routing_headers(ctx.headers, ctx.route_request))
      return StageResult::fail(std::move(*bad), "client_error");
    return StageResult::next();
  }
};

const StageRegistrar kRegister("parse", [](const StageContext&) -> Result<std::unique_ptr<Stage>> {
  return std::unique_ptr<Stage>(std::make_unique<ParseStage>());
});

}  // namespace
}  // namespace switchboard::pipeline
