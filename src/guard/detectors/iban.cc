// `iban`: international bank account numbers, written together or in groups of four, accepted when
// the country's length and the mod-97 check hold.
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

class IbanDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    for_each_match(re_, text, [&](std::size_t b, std::size_t e, const auto&) {
      if (b > 0 && is_word_byte(text[b - 1])) return;
      // The pattern may take a following word's first letters as a last group: shrink to the
      // longest prefix that checks.
      std::string compact;
      std::vector<std::size_t> ends;  // text offset after each compact character
      for (std::size_t i = b; i < e; ++i) {
        const char c = text[i];
        if (c == ' ') continue;
        compact += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        ends.push_back(i + 1);
      }
      for (std::size_t n = compact.size(); n >= 15; --n) {
        const std::size_t end = ends[n - 1];
        if (end < text.size() && is_word_byte(text[end])) continue;
        if (iban_valid(std::string_view(compact).substr(0, n))) {
          out.push_back({b, end, 0});
          return;
        }
      }
    });
  }

 private:
  RE2 re_{R"([A-Z]{2}\d{2}(?: ?[A-Za-z0-9]{1,4}){3,8})", detector_options()};
};

const PiiDetectorRegistrar kRegister("iban", {25, "IBAN", [] {
                                                return std::unique_ptr<PiiDetector>(
                                                    std::make_unique<IbanDetector>());
                                              }});

}  // namespace
}  // namespace switchboard::guard
