// POST /v1/responses: the OpenAI Responses API, translated to and from chat completions
// (api/responses.h).
#include "api/responses.h"
#include "pipeline/front_end.h"

namespace switchboard::pipeline {
namespace {

class ResponsesFront final : public FrontEnd {
 public:
  FrontRequest translate(std::string_view body) const override {
    FrontRequest out;
    auto r = api::parse_responses_request(body);
    if (!r) {
      out.error = r.error();
      out.translator = api::responses_translator(nullptr);
      return out;
    }
    out.translator = api::responses_translator(&*r);
    out.body = std::move(r->chat_body);
    return out;
  }
};

const FrontEndRegistrar kRegister("/v1/responses", [] {
  return std::unique_ptr<FrontEnd>(std::make_unique<ResponsesFront>());
});

}  // namespace
}  // namespace switchboard::pipeline
