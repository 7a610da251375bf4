// What the PII detectors read of a text: look-alike characters folded to the ASCII their patterns
// expect, with a map back to the text's own bytes. A card number spaced with no-break spaces (as
// text copied from web pages and PDFs is), written in fullwidth digits, or with zero-width
// characters inside it passed every detector before (session 30 sweep).
//
// Folded: no-break and other Unicode spaces (U+00A0, U+2000–U+200A, U+202F, U+205F, U+3000) to a
// space; Unicode hyphens and dashes (U+2010–U+2015) to '-'; fullwidth forms (U+FF01–U+FF5E) to
// their ASCII; removed: zero-width and format characters (U+00AD, U+200B–U+200F, U+2060, U+FEFF).
// Pure, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::guard {

struct FoldedText {
  std::string text;
  // The offset in the original of folded byte i (i == text.size(): the original's size); a span
  // [b, e) of `text` is [origin(b), origin(e)) there. Kept as the points where the offsets shift
  // (a folded or removed character), not per byte: a 16 MB text with one no-break space cost 64
  // MB of map.
  std::size_t origin(std::size_t i) const;
  // (folded offset, original offset) from which the two advance together; ascending, the first
  // at folded offset 0.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> shifts;
};

// Nothing when `text` holds no character to fold (the detectors read it as it is).
std::optional<FoldedText> fold_for_detection(std::string_view text);

}  // namespace switchboard::guard
