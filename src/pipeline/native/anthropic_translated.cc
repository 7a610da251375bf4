// Chat completions over an `api: anthropic` replica (translated_api.h, api/chat_to_messages.h):
// every client but an Anthropic one the pass-through can take, posted to /v1/messages.
#include "api/chat_to_messages.h"
#include "pipeline/native/translated_api.h"
#include "pipeline/request_context.h"

namespace switchboard::pipeline {
namespace {

class ChatOverAnthropic final : public TranslatedApi {
 public:
  std::string_view name() const override { return "anthropic"; }
  std::string_view path(const RequestContext&) const override { return "/v1/messages"; }

 protected:
  Result<std::string> translate(std::string_view chat, std::string_view model) const override {
    return api::chat_to_messages_request(chat, model);
  }
  std::unique_ptr<api::UpstreamToChat> reader(const RequestContext& ctx) const override {
    return api::messages_to_chat(ctx.req.include_usage, api::structured_output_tool(ctx.body));
  }
};

const ChatOverAnthropic kApi;

}  // namespace

const NativeApi& chat_over_anthropic() { return kApi; }

}  // namespace switchboard::pipeline
