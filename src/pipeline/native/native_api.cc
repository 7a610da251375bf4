#include "pipeline/native/native_api.h"

#include <algorithm>

#include "api/chat_request.h"
#include "api/chat_response.h"
#include "config/config.h"
#include "pipeline/model_call.h"

namespace switchboard::pipeline {

UpstreamCredentials NativeApi::credentials(std::string_view key) const {
  UpstreamCredentials c;
  if (!key.empty()) c.authorization = "Bearer " + std::string(key);
  return c;
}

api::AnswerCheck NativeApi::check_answer(const RequestContext&, std::string_view whole) const {
  if (looks_like_json_object(whole)) return {};
  api::AnswerCheck check;
  check.problem = "a body that is not a JSON object";
  return check;
}

std::optional<api::TextAnswer> NativeApi::answer(std::string_view, bool) const {
  return std::nullopt;
}

std::optional<std::string> NativeApi::whole_as_stream(const RequestContext&,
                                                      std::string_view) const {
  return std::nullopt;
}

std::optional<std::string> chat_whole_as_stream(const RequestContext& ctx, std::string_view whole) {
  if (ctx.kind != RequestKind::kChat) return std::nullopt;  // embeddings have no stream
  // Pieces of 24 characters, as multi-call plans stream, but at most ~512 pieces per answer: each
  // piece is a chunk with the answer's id and model (~165 bytes), so a large answer cut in 24s
  // took about seven times its size.
  const std::size_t piece = std::max<std::size_t>(24, whole.size() / 512);
  return api::completion_body_as_sse(whole, ctx.req.include_usage, piece);
}

std::string replica_label(const Replica& replica) {
  return replica.config ? replica.config->label
                        : "replica #" + std::to_string(replica.ordinal + 1) + " of " + replica.model;
}

std::string PassThroughApi::refusal(const RequestContext& ctx, const CallState& st,
                                    const Replica& replica) const {
  const std::string label = replica_label(replica);
  const std::string api(name());
  if (ctx.native_api != name())
    return label + " speaks the " + api +
           " API, not what this request needs (" +
           (ctx.native_api.empty() ? std::string("chat completions")
                                   : std::string(ctx.native_api)) +
           ")";
  if (st.buffered)
    return label + " speaks the " + api + " API; multi-call plans need chat completions";
  if (!ctx.rewritten_body.empty())
    return "the guard rewrote the request; it is not passed through to " + label;
  return {};
}

bool PassThroughApi::passes_through(const RequestContext& ctx, const CallState& st) const {
  return ctx.native_api == name() && !st.buffered && ctx.rewritten_body.empty();
}

std::string_view PassThroughApi::body(const RequestContext& ctx, CallState& st,
                                      std::string_view model, config::ReasoningMode) const {
  // The client's own body: its reasoning settings are its API's, as it sent them.
  // Kept with the state's other renamed bodies, under a key no model name has.
  const std::string key = "\x01" + std::string(name()) + ":" + std::string(model);
  for (const auto& [n, b] : st.rewritten)
    if (n == key) return b;
  return st.rewritten.emplace_front(key, api::rewrite_model(ctx.native_body, model)).second;
}

ResponseWriter& PassThroughApi::writer(const RequestContext& ctx) const {
  return ctx.native_client ? *ctx.native_client : *ctx.client;
}

const NativeApi* find_native_api(const std::string& name) {
  const NativeApi* const* found = NativeApiRegistry::instance().find(name);
  return found ? *found : nullptr;
}

}  // namespace switchboard::pipeline
