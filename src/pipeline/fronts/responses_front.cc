// POST /v1/responses: the OpenAI Responses API, translated to and from chat completions
// (api/responses.h).
#include "api/responses.h"
#include "api/responses_conversation.h"
#include "api/responses_references.h"
#include "pipeline/front_end.h"

namespace switchboard::pipeline {
namespace {

class ResponsesFront final : public FrontEnd {
 public:
  std::string_view name() const override { return "responses"; }
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
    out.native_only = std::move(r->native_only);
    out.reasoning_effort = std::move(r->reasoning_effort);
    return out;
  }
  std::string_view native_api() const override { return "responses"; }
  api::ConversationRequest conversation(std::string_view body) const override {
    return api::responses_conversation(body);
  }
  Result<std::string> continue_from(std::string_view body,
                                    std::string_view items) const override {
    return api::responses_continue(body, items);
  }
  std::unique_ptr<api::ConversationCapture> capture(std::string_view body) const override {
    return api::responses_capture(body);
  }
  std::unique_ptr<api::ItemReferences> references(std::string_view body) const override {
    return api::responses_item_references(body);
  }
};

const FrontEndRegistrar kRegister("/v1/responses", [] {
  return std::unique_ptr<FrontEnd>(std::make_unique<ResponsesFront>());
});

}  // namespace
}  // namespace switchboard::pipeline
