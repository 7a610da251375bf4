// Chat completions over an `api: responses` replica (translated_api.h, api/chat_to_responses.h):
// every client but a Responses one the pass-through can take, posted to /v1/responses.
#include "api/chat_to_responses.h"
#include "pipeline/native/translated_api.h"
#include "pipeline/request_context.h"

namespace switchboard::pipeline {
namespace {

class ChatOverResponses final : public TranslatedApi {
 public:
  std::string_view name() const override { return "responses"; }
  std::string_view path(const RequestContext&) const override { return "/v1/responses"; }

 protected:
  Result<std::string> translate(std::string_view chat, std::string_view model) const override {
    return api::chat_to_responses_request(chat, model);
  }
  std::unique_ptr<api::UpstreamToChat> reader(const RequestContext& ctx) const override {
    return api::responses_to_chat(ctx.req.include_usage);
  }
};

const ChatOverResponses kApi;

}  // namespace

const NativeApi& chat_over_responses() { return kApi; }

}  // namespace switchboard::pipeline
