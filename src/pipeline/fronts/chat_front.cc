// POST /v1/chat/completions: OpenAI chat completions, the stages' own language — nothing is
// translated.
#include "pipeline/front_end.h"

namespace switchboard::pipeline {
namespace {

class ChatFront final : public FrontEnd {
 public:
  std::string_view name() const override { return "chat"; }
  FrontRequest translate(std::string_view) const override { return {}; }
};

const FrontEndRegistrar kRegister("/v1/chat/completions", [] {
  return std::unique_ptr<FrontEnd>(std::make_unique<ChatFront>());
});

}  // namespace
}  // namespace switchboard::pipeline
