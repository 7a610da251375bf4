// `secret`: credentials by their published shapes — OpenAI (sk-..., sk-proj-...), Anthropic
// (sk-ant-...), AWS access key ids (AKIA/ASIA + 16), GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_,
// github_pat_), Slack (xox?-), Google API keys (AIza + 35), Stripe (sk_live_/rk_live_), and PEM
// private keys (BEGIN ... PRIVATE KEY through END, or to the end of the text when cut off).
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

class SecretDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    for_each_match(re_, text, [&](std::size_t b, std::size_t e, const auto&) {
      if (b > 0 && is_word_byte(text[b - 1]) && text[b] != '-') return;
      out.push_back({b, e, 0});
    });
  }

 private:
  RE2 re_{
      R"(sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,})"
      R"(|(?:AKIA|ASIA)[0-9A-Z]{16})"
      R"(|gh[pousr]_[A-Za-z0-9]{36,})"
      R"(|github_pat_[A-Za-z0-9_]{22,})"
      R"(|xox[abprs]-[A-Za-z0-9\-]{10,})"
      R"(|AIza[0-9A-Za-z_\-]{35})"
      R"(|[rs]k_live_[0-9A-Za-z]{16,})"
      R"(|-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]{0,20}PRIVATE KEY-----|$))",
      detector_options()};
};

const PiiDetectorRegistrar kRegister("secret", {10, "SECRET", [] {
                                                  return std::unique_ptr<PiiDetector>(
                                                      std::make_unique<SecretDetector>());
                                                }});

}  // namespace
}  // namespace switchboard::guard
