// `api: anthropic`: the replica speaks Anthropic Messages. /v1/messages clients are passed through
// (POST /v1/messages, the key as x-api-key with anthropic-version 2023-06-01, the client's
// anthropic-beta as sent when the replica has `pass_headers: [anthropic-beta]`), metered in
// Anthropic's terms (usage.input_tokens / output_tokens; in a stream from message_start and
// message_delta). Other clients are served through the chat translation
// (translated_api.h).
#include "api/messages.h"
#include "api/messages_answer.h"
#include "api/answer_shape.h"
#include "pipeline/native/translated_api.h"
#include "pipeline/native/native_api.h"
#include "pipeline/model_call.h"
#include "pipeline/request_context.h"

namespace switchboard::pipeline {
namespace {

class AnthropicApi final : public PassThroughApi {
 public:
  std::string_view name() const override { return "anthropic"; }
  // A Messages client is passed through unless the pass-through cannot take its call (a
  // multi-call plan's buffered call, a body the guard rewrote): then, as every other client, it
  // goes through the chat translation.
  const NativeApi& serving(const RequestContext& ctx, const CallState& st) const override {
    return passes_through(ctx, st) ? *this : chat_over_anthropic();
  }
  std::string_view path(const RequestContext&) const override { return "/v1/messages"; }
  // The client's anthropic-beta flags decide how Anthropic reads the body it passes through (beta
  // tools, a 1M context): dropped, such a request failed or was read otherwise.
  bool passes_client_headers() const override { return true; }
  api::AnswerCheck check_answer(const RequestContext&, std::string_view whole) const override {
    return api::check_answer(whole, api::AnswerShape::kAnthropicMessage);
  }
  std::optional<api::Usage> usage(std::string_view whole) const override {
    return api::anthropic_usage(whole);
  }
  std::unique_ptr<UsageMeter> stream_meter() const override {
    return std::make_unique<MeterOf<api::MessagesStreamMeter>>();
  }
  std::optional<api::TextAnswer> answer(std::string_view captured, bool streamed) const override {
    if (!streamed) return api::anthropic_answer(captured);
    return api::read_stream(captured, *api::anthropic_answer_reader());
  }
  UpstreamCredentials credentials(std::string_view key) const override {
    UpstreamCredentials c;
    if (!key.empty()) c.headers.emplace_back("x-api-key", std::string(key));
    c.headers.emplace_back("anthropic-version", "2023-06-01");
    return c;
  }
};

const AnthropicApi kApi;
const NativeApiRegistrar kRegister("anthropic", &kApi);

}  // namespace
}  // namespace switchboard::pipeline
