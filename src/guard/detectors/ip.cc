// `ip`: IPv4 addresses (four octets 0-255) and IPv6 addresses (anything inet_pton accepts, with at
// least three hex digits, so that "a::b" in code is not one).
#include <arpa/inet.h>

#include <string>

#include "guard/detectors/regex_scan.h"
#include "guard/pii.h"

namespace switchboard::guard {
namespace {

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

class IpDetector final : public PiiDetector {
 public:
  void find(std::string_view text, std::vector<PiiMatch>& out) const override {
    if (text.find('.') != std::string_view::npos) find_v4(text, out);
    if (text.find(':') != std::string_view::npos) find_v6(text, out);
  }

 private:
  void find_v4(std::string_view text, std::vector<PiiMatch>& out) const {
    for_each_match<5>(v4_, text, [&](std::size_t b, std::size_t e, const auto& g) {
      if (b > 0 && (is_word_byte(text[b - 1]) || text[b - 1] == '.')) return;
      if (e < text.size() && (is_word_byte(text[e]) ||
                              (text[e] == '.' && e + 1 < text.size() && is_digit(text[e + 1]))))
        return;
      for (int i = 1; i <= 4; ++i) {
        if (g[i].size() > 1 && g[i][0] == '0') return;  // leading zero: not a dotted quad
        if (std::stoi(std::string(g[i])) > 255) return;
      }
      out.push_back({b, e, 0});
    });
  }
  void find_v6(std::string_view text, std::vector<PiiMatch>& out) const {
    for_each_match(v6_, text, [&](std::size_t b, std::size_t e, const auto&) {
      if (b > 0 && (is_word_byte(text[b - 1]) || text[b - 1] == ':')) return;
      if (e < text.size() && (is_word_byte(text[e]) || text[e] == ':' ||
                              (text[e] == '.' && e + 1 < text.size() && is_digit(text[e + 1]))))
        return;
      if (e - b > 45) return;
      int hex = 0;
      for (std::size_t i = b; i < e; ++i) hex += is_hex(text[i]);
      if (hex < 3) return;
      const std::string candidate(text.substr(b, e - b));
      in6_addr addr;
      if (inet_pton(AF_INET6, candidate.c_str(), &addr) != 1) return;
      out.push_back({b, e, 0});
    });
  }

  RE2 v4_{R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))", detector_options()};
  RE2 v6_{R"((?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?)",
          detector_options()};
};

const PiiDetectorRegistrar kRegister(
    "ip", {50, "IP", [] { return std::unique_ptr<PiiDetector>(std::make_unique<IpDetector>()); }});

}  // namespace
}  // namespace switchboard::guard
