// `api: responses`: the replica speaks the OpenAI Responses API. /v1/responses clients are passed
// through (POST /v1/responses, the key as a bearer token), metered from the Responses shapes
// (usage.input_tokens / output_tokens; in a stream from response.completed's response.usage).
// Other clients are served through the chat translation (translated_api.h).
#include "api/responses_meter.h"
#include "api/responses_answer.h"
#include "api/answer_shape.h"
#include "pipeline/native/native_api.h"
#include "pipeline/native/translated_api.h"

namespace switchboard::pipeline {
namespace {

class ResponsesApi final : public PassThroughApi {
 public:
  std::string_view name() const override { return "responses"; }
  // A Responses client is passed through unless the pass-through cannot take its call (a
  // multi-call plan's buffered call, a body the guard rewrote): then, as every other client, it
  // goes through the chat translation.
  const NativeApi& serving(const RequestContext& ctx, const CallState& st) const override {
    return passes_through(ctx, st) ? *this : chat_over_responses();
  }
  std::string_view path(const RequestContext&) const override { return "/v1/responses"; }
  api::AnswerCheck check_answer(const RequestContext&, std::string_view whole) const override {
    return api::check_answer(whole, api::AnswerShape::kResponse);
  }
  std::optional<api::Usage> usage(std::string_view whole) const override {
    return api::responses_usage(whole);
  }
  std::unique_ptr<UsageMeter> stream_meter() const override {
    return std::make_unique<MeterOf<api::ResponsesStreamMeter>>();
  }
  std::optional<api::TextAnswer> answer(std::string_view captured, bool streamed) const override {
    if (!streamed) return api::responses_answer(captured);
    return api::read_stream(captured, *api::responses_answer_reader());
  }
};

const ResponsesApi kApi;
const NativeApiRegistrar kRegister("responses", &kApi);

}  // namespace
}  // namespace switchboard::pipeline
