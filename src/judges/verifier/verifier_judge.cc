// The `verifier` judge: a learned P(correct | prompt, answer) (verifier/model.h), trained by
// `switchboard train --policy verifier` on recorded outcomes with responses.
//
//   judge:
//     type: verifier
//     model_dir: models/verifier     # written by the trainer (manifest.json, weights.bin, …)
//
// Verdict: scores[i] = the calibrated P(correct) of answer i; confidence = scores[0] (the tier's
// answer). The model directory is read once when the judge is built; judge() does no I/O.
#include "judges/spec.h"
#include "judges/verifier/model.h"

namespace switchboard::judges::verifier {
namespace {

class VerifierJudge final : public Judge {
 public:
  explicit VerifierJudge(VerifierModel model) : model_(std::move(model)) {}

  Verdict judge(const JudgeInput& input) const override {
    Verdict v;
    if (input.answers.empty()) {
      v.available = false;
      v.note = "no answer to judge";
      return v;
    }
    // Trained on text answers: a tool call is no text it can score.
    for (const auto& a : input.answers)
      if (!a.tool_calls.empty()) {
        v.available = false;
        v.note = "tool calls: the verifier scores text answers only";
        return v;
      }
    for (const auto& a : input.answers)
      v.scores.push_back(model_.probability({input.prompt, a.text, a.model, a.finish_reason}));
    v.confidence = v.scores.front();
    char buf[64];
    std::snprintf(buf, sizeof buf, "P(correct) %.3f", v.confidence);
    v.note = buf;
    return v;
  }

 private:
  VerifierModel model_;
};

Result<std::unique_ptr<Judge>> make_verifier(const JudgeContext& ctx) {
  SpecReader spec(ctx);
  if (auto e = spec.only_keys({"type", "model_dir"})) return *e;
  auto dir = spec.string("model_dir", "");
  if (!dir) return dir.error();
  if (dir->empty())
    return spec.error(ctx.spec,
                      "the verifier judge needs `model_dir:` (train one with `switchboard train "
                      "--policy verifier`)");
  auto model = VerifierModel::load(*dir);
  if (!model) return spec.error(ctx.spec["model_dir"], model.error().message);
  return std::unique_ptr<Judge>(std::make_unique<VerifierJudge>(std::move(*model)));
}

const JudgeRegistrar kVerifier("verifier", make_verifier);

}  // namespace
}  // namespace switchboard::judges::verifier
