// `ssn`: US social security numbers written AAA-GG-SSSS (or with spaces), with the parts the SSA
// never issues (area 000, 666, 9xx; group 00; serial 0000) excluded.
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

class SsnDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    for_each_match<4>(re_, text, [&](std::size_t b, std::size_t e, const auto& g) {
      if (b > 0 && (is_word_byte(text[b - 1]) || text[b - 1] == '-')) return;
      if (e < text.size() && (is_word_byte(text[e]) || text[e] == '-')) return;
      if (ssn_valid(g[1], g[2], g[3])) out.push_back({b, e, 0});
    });
  }

 private:
  RE2 re_{R"((\d{3})[- ](\d{2})[- ](\d{4}))", detector_options()};
};

const PiiDetectorRegistrar kRegister("ssn", {30, "SSN", [] {
                                               return std::unique_ptr<PiiDetector>(
                                                   std::make_unique<SsnDetector>());
                                             }});

}  // namespace
}  // namespace switchboard::guard
