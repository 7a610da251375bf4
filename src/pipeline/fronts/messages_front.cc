// POST /v1/messages: the Anthropic Messages API (errors in Anthropic's shape), translated to and
// from chat completions (api/messages.h).
#include "api/messages.h"
#include "pipeline/front_end.h"

namespace switchboard::pipeline {
namespace {

class MessagesFront final : public FrontEnd {
 public:
  std::string_view name() const override { return "messages"; }
  FrontRequest translate(std::string_view body) const override {
    FrontRequest out;
    auto r = api::parse_messages_request(body);
    if (!r) {
      out.error = r.error();
      out.translator = api::messages_translator(nullptr);
      return out;
    }
    out.translator = api::messages_translator(&*r);
    out.body = std::move(r->chat_body);
    out.native_only = std::move(r->native_only);
    out.reasoning_effort = std::move(r->reasoning_effort);
    out.native_body = std::move(r->native_body);
    out.continues_last_turn = r->prefill;
    return out;
  }
  std::string_view native_api() const override { return "anthropic"; }
};

const FrontEndRegistrar kRegister("/v1/messages", [] {
  return std::unique_ptr<FrontEnd>(std::make_unique<MessagesFront>());
});

}  // namespace
}  // namespace switchboard::pipeline
