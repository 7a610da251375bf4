// POST /v1/embeddings: routed among embedding models on the input text; the body goes to the
// chosen model's /v1/embeddings and its answer (vectors, usage) comes back unchanged.
#include "pipeline/front_end.h"

namespace switchboard::pipeline {
namespace {

class EmbeddingsFront final : public FrontEnd {
 public:
  std::string_view name() const override { return "embeddings"; }
  FrontRequest translate(std::string_view) const override { return {}; }
  RequestKind kind() const override { return RequestKind::kEmbeddings; }
  std::string_view upstream_path() const override { return "/v1/embeddings"; }
};

const FrontEndRegistrar kRegister("/v1/embeddings", [] {
  return std::unique_ptr<FrontEnd>(std::make_unique<EmbeddingsFront>());
});

}  // namespace
}  // namespace switchboard::pipeline
