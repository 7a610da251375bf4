// `api: responses`: the replica speaks the OpenAI Responses API. /v1/responses clients are passed
// through (POST /v1/responses, the key as a bearer token), metered from the Responses shapes
// (usage.input_tokens / output_tokens; in a stream from response.completed's response.usage).
// Other clients skip the replica (api_mismatch).
#include "api/responses_meter.h"
#include "api/responses_answer.h"
#include "pipeline/native/native_api.h"

namespace switchboard::pipeline {
namespace {

class ResponsesApi final : public PassThroughApi {
 public:
  std::string_view name() const override { return "responses"; }
  std::string_view path(const RequestContext&) const override { return "/v1/responses"; }
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
