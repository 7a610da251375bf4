#include "guard/text_fold.h"

#include <algorithm>
#include <cstdint>

namespace switchboard::guard {
namespace {

// What the character of `len` bytes at `p` folds to: a byte, 0 to remove it, -1 to keep it.
int fold(const unsigned char* p, std::size_t len) {
  for (std::size_t k = 1; k < len; ++k)
    if (p[k] < 0x80 || p[k] > 0xBF) return -1;  // not a well-formed character: kept as it is
  if (len == 2 && p[0] == 0xC2) {
    if (p[1] == 0xA0) return ' ';  // U+00A0 no-break space
    if (p[1] == 0xAD) return 0;    // U+00AD soft hyphen
    return -1;
  }
  if (len != 3) return -1;
  if (p[0] == 0xE2 && p[1] == 0x80) {
    if (p[2] <= 0x8A) return ' ';                  // U+2000–U+200A spaces
    if (p[2] <= 0x8F) return 0;                    // U+200B–U+200F zero-width, marks
    if (p[2] <= 0x95) return '-';                  // U+2010–U+2015 hyphens, dashes
    if (p[2] == 0xAF) return ' ';                  // U+202F narrow no-break space
    return -1;
  }
  if (p[0] == 0xE2 && p[1] == 0x81) {
    if (p[2] == 0x9F) return ' ';  // U+205F medium mathematical space
    if (p[2] == 0xA0) return 0;    // U+2060 word joiner
    return -1;
  }
  if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return ' ';  // U+3000 ideographic space
  if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) return 0;     // U+FEFF zero-width no-break
  if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x81) return 0x21 + (p[2] - 0x81);  // U+FF01–FF3F
  if (p[0] == 0xEF && p[1] == 0xBD && p[2] <= 0x9E) return 0x60 + (p[2] - 0x80);  // U+FF40–FF5E
  return -1;
}

// The length of the UTF-8 sequence led by `b` (1 for a stray continuation or invalid byte).
std::size_t sequence_length(unsigned char b) {
  if (b < 0xC0) return 1;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  return b < 0xF8 ? 4 : 1;
}

bool may_fold(unsigned char b) { return b == 0xC2 || b == 0xE2 || b == 0xE3 || b == 0xEF; }

}  // namespace

std::size_t FoldedText::origin(std::size_t i) const {
  auto it = std::upper_bound(shifts.begin(), shifts.end(), i,
                             [](std::size_t v, const auto& s) { return v < s.first; });
  const auto& [folded, original] = *std::prev(it);  // shifts[0] is at folded offset 0
  return original + (i - folded);
}

std::optional<FoldedText> fold_for_detection(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  if (n >= UINT32_MAX) return std::nullopt;  // (request bodies are far smaller)
  // Most text folds nothing: find the first character that does before copying anything.
  std::size_t first = n;
  for (std::size_t i = 0; i < n;) {
    const std::size_t len = std::min(sequence_length(bytes[i]), n - i);
    if (may_fold(bytes[i]) && fold(bytes + i, len) != -1) {
      first = i;
      break;
    }
    i += len;
  }
  if (first == n) return std::nullopt;
  FoldedText out;
  out.text.reserve(n);
  out.text.append(text.substr(0, first));
  out.shifts.emplace_back(0, 0);
  // From folded offset `at` on, the original is at `original`.
  auto shift = [&out](std::size_t at, std::size_t original) {
    auto& last = out.shifts.back();
    if (last.first == at)
      last.second = static_cast<std::uint32_t>(original);
    else
      out.shifts.emplace_back(static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(original));
  };
  for (std::size_t i = first; i < n;) {
    const std::size_t len = std::min(sequence_length(bytes[i]), n - i);
    const int folded = may_fold(bytes[i]) ? fold(bytes + i, len) : -1;
    if (folded < 0) {
      out.text.append(text.substr(i, len));
    } else {
      if (folded > 0) out.text += static_cast<char>(folded);
      shift(out.text.size(), i + len);
    }
    i += len;
  }
  return out;
}

}  // namespace switchboard::guard
