// `secret`: credentials by their published shapes — OpenAI (sk-..., sk-proj-...), Anthropic
// (sk-ant-...), AWS access key ids (AKIA/ASIA + 16), GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_,
// github_pat_), Slack (xox?-), Google API keys (AIza + 35), Stripe (sk_/rk_ live or test), Hugging
// Face (hf_), GitLab (glpat-), and PEM and PGP private keys (BEGIN ... PRIVATE KEY [BLOCK] through
// END, or to the end of the text when cut off). An `sk-` match without a digit is not taken.
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

class SecretDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    for_each_match(re_, text, [&](std::size_t b, std::size_t e, const auto&) {
      if (b > 0 && is_word_byte(text[b - 1]) && text[b] != '-') return;
      // An `sk-` key is random base62: one without a digit is words ("sk-learn-utils-for-...").
      const std::string_view m = text.substr(b, e - b);
      if (m.starts_with("sk-") && m.find_first_of("0123456789") == std::string_view::npos) return;
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
      R"(|[rs]k_(?:live|test)_[0-9A-Za-z]{16,})"
      R"(|hf_[A-Za-z0-9]{30,})"
      R"(|glpat-[A-Za-z0-9_\-]{20,})"
      R"(|-----BEGIN [A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z ]{0,20}PRIVATE KEY(?: BLOCK)?-----|$))",
      detector_options()};
};

const PiiDetectorRegistrar kRegister("secret", {10, "SECRET", [] {
                                                  return std::unique_ptr<PiiDetector>(
                                                      std::make_unique<SecretDetector>());
                                                }});

}  // namespace
}  // namespace switchboard::guard
