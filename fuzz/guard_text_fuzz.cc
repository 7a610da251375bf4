// The guard's text helpers on arbitrary bytes: guard::fold_for_detection (look-alikes folded for
// the PII detectors) and guard::unrestore_text (every redacted value back to its placeholder, one
// Aho–Corasick pass: guard/literal_starts.h). Properties: no crash or UB; folding maps every byte
// of the folded text to an offset of the original, strictly in order, and folding the folded text again
// finds nothing; the one-pass unrestore equals the naive leftmost-longest replacement.
//
// Input: up to 8 values separated by '\x01', then '\x02', then the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "guard/redact.h"
#include "guard/text_fold.h"
#include "guard_unrestore_reference.h"  // tests/unit/

namespace {

using Placeholders = std::vector<std::pair<std::string, std::string>>;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace switchboard::guard;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (const auto folded = fold_for_detection(input)) {
    FUZZ_CHECK(folded->shifts.front().first == 0);
    FUZZ_CHECK(folded->origin(folded->text.size()) == input.size());
    for (std::size_t i = 1; i <= folded->text.size(); ++i)
      FUZZ_CHECK(folded->origin(i - 1) < folded->origin(i));
    FUZZ_CHECK(folded->text.size() <= input.size());
    FUZZ_CHECK(!fold_for_detection(folded->text));
  }

  const auto split = input.find('\x02');
  if (split == std::string_view::npos) return 0;
  Placeholders p;
  std::string_view values = input.substr(0, split);
  while (p.size() < 8) {
    const auto end = values.find('\x01');
    p.emplace_back("[V_" + std::to_string(p.size() + 1) + "]", std::string(values.substr(0, end)));
    if (end == std::string_view::npos) break;
    values.remove_prefix(end + 1);
  }
  const std::string_view text = input.substr(split + 1);
  FUZZ_CHECK(unrestore_text(text, p) == testing::unrestore_naive(text, p));
  return 0;
}
