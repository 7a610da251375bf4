// POST /v1/completions: the legacy OpenAI Completions API, translated to and from chat completions
// (api/completions.h).
#include "api/completions.h"
#include "pipeline/front_end.h"

namespace switchboard::pipeline {
namespace {

class CompletionsFront final : public FrontEnd {
 public:
  std::string_view name() const override { return "completions"; }
  FrontRequest translate(std::string_view body) const override {
    FrontRequest out;
    auto r = api::parse_completions_request(body);
    if (!r) {
      out.error = r.error();
      out.translator = api::completions_translator(nullptr);
      return out;
    }
    out.translator = api::completions_translator(&*r);
    out.body = std::move(r->chat_body);
    return out;
  }
};

const FrontEndRegistrar kRegister("/v1/completions", [] {
  return std::unique_ptr<FrontEnd>(std::make_unique<CompletionsFront>());
});

}  // namespace
}  // namespace switchboard::pipeline
