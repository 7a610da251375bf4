// `card`: payment card numbers — 13 to 19 digits, optionally in groups separated by one space or
// dash, with a known issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
// Maestro) and a valid Luhn checksum.
#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

bool known_issuer(std::string_view d) {
  auto prefix = [&](int digits) { return std::stoi(std::string(d.substr(0, digits))); };
  if (d[0] == '4') return true;  // Visa
  const int p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6);
  if (p2 >= 51 && p2 <= 55) return true;                                // Mastercard
  if (p6 >= 222100 && p6 <= 272099) return true;                        // Mastercard 2-series
  if (p2 == 34 || p2 == 37) return true;                                // Amex
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return true;  // Discover
  if (p4 >= 3528 && p4 <= 3589) return true;                            // JCB
  if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305)) return true;  // Diners
  if (p2 == 62) return true;                                                      // UnionPay
  if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return true;                            // Maestro
  return false;
}

// 13 to 19 digits in groups with one kind of separator, a known issuer and a valid Luhn sum.
bool card_number(std::string_view run) {
  std::string digits;
  char sep = 0;
  for (const char c : run) {
    if (is_digit(c)) {
      digits += c;
    } else if (sep == 0) {
      sep = c;
    } else if (c != sep) {
      return false;  // mixed separators: not a card number as written
    }
  }
  return digits.size() >= 13 && digits.size() <= 19 && known_issuer(digits) && luhn_valid(digits);
}

class CardDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    for_each_match(re_, text, [&](std::size_t b, std::size_t e, const auto&) {
      if (b > 0 && (is_word_byte(text[b - 1]) || text[b - 1] == '.')) return;
      const bool ends_clean =
          e == text.size() || !(is_word_byte(text[e]) ||
                                (text[e] == '.' && e + 1 < text.size() && is_digit(text[e + 1])));
      if (ends_clean && card_number(text.substr(b, e - b))) return out.push_back({b, e, 0});
      // The pattern is greedy: a card followed by its expiry or CVV ("4111 1111 1111 1111 12/26",
      // "4111111111111111 123", "4111-1111-1111-1111 2026", cut inside the year) takes their
      // digits too. The shorter runs that end where a group ends are tried, longest first.
      for (std::size_t k = e - 1; k > b; --k)
        if ((text[k] == ' ' || text[k] == '-') && card_number(text.substr(b, k - b)))
          return out.push_back({b, k, 0});
    });
  }

 private:
  RE2 re_{R"(\d(?:[ \-]?\d){12,18})", detector_options()};
};

const PiiDetectorRegistrar kRegister("card", {20, "CARD", [] {
                                                return std::unique_ptr<PiiDetector>(
                                                    std::make_unique<CardDetector>());
                                              }});

}  // namespace
}  // namespace switchboard::guard
