// `api: chat` (the default): the replica speaks OpenAI chat completions (and embeddings). Every
// client API is translated to it by its front end (refused: a request only a native replica can
// answer, RequestContext::native_only); the body is the one the stages parsed (with the
// model renamed), posted to the front end's path, and the answer goes back through the front end's
// translator.
#include "api/answer_shape.h"
#include "pipeline/model_call.h"
#include "pipeline/native/native_api.h"

namespace switchboard::pipeline {
namespace {

class ChatApi final : public NativeApi {
 public:
  std::string_view name() const override { return "chat"; }
  std::string refusal(const RequestContext& ctx, const CallState&,
                      const Replica& replica) const override {
    if (ctx.native_only.empty()) return {};
    return replica_label(replica) + " speaks chat completions; " + std::string(ctx.native_only);
  }
  std::string_view path(const RequestContext& ctx) const override { return ctx.upstream_path; }
  std::string_view body(const RequestContext& ctx, CallState& st, std::string_view model,
                        config::ReasoningMode reasoning) const override {
    return st.body_for(ctx, model, reasoning);
  }
  ResponseWriter& writer(const RequestContext& ctx) const override { return *ctx.client; }
  // The chat shape, then what the client's API cannot carry (a Messages client: a tool call's
  // arguments that are not an object; ResponseWriter::answer_problem()).
  api::AnswerCheck check_answer(const RequestContext& ctx, std::string_view whole) const override {
    const bool embeddings = ctx.kind == RequestKind::kEmbeddings;
    api::AnswerCheck check = api::check_answer(
        whole, embeddings ? api::AnswerShape::kEmbeddings : api::AnswerShape::kChatCompletion);
    if (check.problem.empty() && !embeddings && ctx.client)
      check.problem = ctx.client->answer_problem(whole);
    return check;
  }
  std::optional<std::string> whole_as_stream(const RequestContext& ctx,
                                             std::string_view whole) const override {
    return chat_whole_as_stream(ctx, whole);
  }
  std::optional<api::Usage> usage(std::string_view whole) const override {
    return api::parse_usage(whole);
  }
  std::unique_ptr<UsageMeter> stream_meter() const override {
    return std::make_unique<MeterOf<api::StreamMeter>>();
  }
};

const ChatApi kApi;
const NativeApiRegistrar kRegister("chat", &kApi);

}  // namespace
}  // namespace switchboard::pipeline
