// `email`: addresses like name.surname+tag@mail.example.org.
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

class EmailDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    if (text.find('@') == std::string_view::npos) return;
    for_each_match(re_, text, [&](std::size_t b, std::size_t e, const auto&) {
      // A TLD that runs on is another word; a dash after it is not part of the address (the
      // pattern would have taken a longer domain): "jane@example.com--thanks" is an address.
      if (e < text.size() && is_word_byte(text[e])) return;
      out.push_back({b, e, 0});
    });
  }

 private:
  RE2 re_{
      R"([A-Za-z0-9_][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24})",
      detector_options()};
};

const PiiDetectorRegistrar kRegister("email", {40, "EMAIL", [] {
                                                 return std::unique_ptr<PiiDetector>(
                                                     std::make_unique<EmailDetector>());
                                               }});

}  // namespace
}  // namespace switchboard::guard
