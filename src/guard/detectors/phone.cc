// `phone`: telephone numbers — international (+CC ...), North American ((555) 123-4567,
// 555.123.4567) and national trunk-prefixed forms (030 1234 5678, 06 12 34 56 78) — with 9 to 15
// digits in all. Digits run together without separators are not taken (they are more often ids).
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

class PhoneDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    for_each_match(re_, text, [&](std::size_t b, std::size_t e, const auto&) {
      if (b > 0 && (is_word_byte(text[b - 1]) || text[b - 1] == '.' || text[b - 1] == '-' ||
                    text[b - 1] == '+' || text[b - 1] == '/'))
        return;
      if (e < text.size() && (is_word_byte(text[e]) || text[e] == '-' || text[e] == '/' ||
                              (text[e] == '.' && e + 1 < text.size() && is_digit(text[e + 1]))))
        return;
      int digits = 0;
      bool separated = false;
      for (std::size_t i = b; i < e; ++i) {
        if (is_digit(text[i]))
          ++digits;
        else if (text[i] != '+')
          separated = true;
      }
      // Run together, digits are more often an id — unless a '+' makes them E.164.
      const bool e164 = text[b] == '+' && digits >= 10;
      if (digits < 9 || digits > 15 || !(separated || e164)) return;
      out.push_back({b, e, 0});
    });
  }

 private:
  RE2 re_{R"(\+\d{1,3}(?:[ .\-]?\(\d{1,4}\)|[ .\-]?\d{1,5}){2,6})"
          R"(|1[ .\-]\d{3}[ .\-]\d{3}[ .\-]\d{4})"
          R"(|\(\d{3}\) ?\d{3}[ .\-]\d{4})"
          R"(|\d{3}[.\-]\d{3}[.\-]\d{4})"
          R"(|0\d{1,4}(?:[ \-]\d{2,4}){2,4})",
          detector_options()};
};

const PiiDetectorRegistrar kRegister("phone", {60, "PHONE", [] {
                                                 return std::unique_ptr<PiiDetector>(
                                                     std::make_unique<PhoneDetector>());
                                               }});

}  // namespace
}  // namespace switchboard::guard
