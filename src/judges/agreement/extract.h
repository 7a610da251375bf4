// Answer extraction: the normalised answer an LLM's reply commits to, so that answers of several
// models can be compared (the agreement judge) or voted on (ensembles).
//
// Kinds:
//   choice  a multiple-choice label ("B"). The prompt's options (the last run of lines "A) text",
//           "(B) text", "C. text", "1) text" in the prompt) give the labels and let option TEXT be
//           mapped back to its label. Formats seen in RouterBench replies, in the order tried:
//           the exact option text ("13", "Rachel"); a leading label ("B", "B)", "(B)", "B.", "D (",
//           "2)" → the 2nd label); "the answer is B" / "Answer: (C)"; a reply starting with an
//           option's text or truncated inside it ("a chart sho…"); a leading label followed by
//           words
//           ("A questioning"); a last line that is a bare label; a bracketed label anywhere ("(C)",
//           "C)"). Nothing found (a refusal, "I do") → "".
//   number  the final number: after "answer is", "####", "\boxed{", else the last number in the
//           reply; "$1,200.50" → "1200.5", "3/4" → "0.75", "-0" → "0".
//   code    the first fenced block holding a definition (```python … ```, [PYTHON] … [/PYTHON]),
//           else the first block, else the reply when it looks like code; comments, docstrings,
//           blank lines and top-level statements other than def/class/import/decorators (example
//           calls, tests) dropped; indentation reduced to levels; runs of blanks collapsed.
//   text    lower-cased ASCII letters and digits, other characters as single spaces, trimmed, with
//           a leading "the answer is" / "answer:" removed.
//   auto    choice when the prompt lists options, code when the prompt asks for a function or
//           program or a reply holds a fenced block, else text (number only when asked for).
// Patterns (RE2) are tried first, in order: group 1 of the first match (or the last, with
// `last_match`), or the whole match when the pattern has no group, normalised by the kind; the
// built-in extraction follows unless `builtin` is false.
//
// Contract: extraction never throws on any text, allocates only its result and scratch strings,
// and is linear in the text's length. Extractors are immutable after make() and thread-safe.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::judges {

enum class AnswerKind { kAuto, kChoice, kNumber, kCode, kText };
std::optional<AnswerKind> parse_answer_kind(std::string_view name);
const char* answer_kind_name(AnswerKind kind);

struct ChoiceOption {
  std::string label;  // "A", "2"
  std::string text;   // normalise_text() of the option's text
};

// The options of the prompt's last multiple-choice question (empty when it has none): the last
// run of at least two consecutive option lines with labels A, B, C, … or 1, 2, 3, ….
std::vector<ChoiceOption> prompt_options(std::string_view prompt);

std::string normalise_text(std::string_view text);
std::string normalise_number(std::string_view text);  // "" when `text` holds no number
std::string normalise_code(std::string_view code);
// The code a reply holds (see `code` above), not yet normalised; "" when none.
std::string_view code_of(std::string_view reply);

struct ExtractorOptions {
  AnswerKind kind = AnswerKind::kAuto;
  std::vector<std::string> patterns;  // RE2
  bool last_match = false;
  bool builtin = true;
  std::string labels = "ABCDE";  // choice labels when the prompt lists no options
};

class AnswerExtractor {
 public:
  // kBadRequest "bad_config" naming the pattern when one does not compile.
  static Result<AnswerExtractor> make(ExtractorOptions options);

  // The kind used for this prompt and its replies (resolves auto).
  AnswerKind resolve(std::string_view prompt, const std::vector<ChoiceOption>& options,
                     const std::vector<std::string_view>& replies) const;

  // The normalised answers of several replies to one prompt (the prompt is parsed once); "" for a
  // reply with no answer. `kind_used` (optional) receives the resolved kind.
  std::vector<std::string> extract(std::string_view prompt,
                                   const std::vector<std::string_view>& replies,
                                   AnswerKind* kind_used = nullptr) const;
  std::string extract_one(std::string_view prompt, std::string_view reply) const;

  // The built-in extraction of one kind (no patterns); `options` from prompt_options().
  std::string builtin(AnswerKind kind, std::string_view reply,
                      const std::vector<ChoiceOption>& options) const;

 private:
  AnswerExtractor() = default;
  std::string normalise(AnswerKind kind, std::string_view raw,
                        const std::vector<ChoiceOption>& options) const;

  ExtractorOptions options_;
  std::vector<std::shared_ptr<const RE2>> patterns_;
};

}  // namespace switchboard::judges
