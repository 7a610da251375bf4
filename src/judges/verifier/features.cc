#include "judges/verifier/features.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "judges/agreement/extract.h"
#include "judges/answer_signs.h"

namespace switchboard::judges::verifier {
namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

std::uint64_t fnv(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Lower-cased words of `text` (at most `max_words`, the last ones when `from_end`).
std::vector<std::string> words(std::string_view text, std::size_t max_words, bool from_end) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !word_char(text[i])) ++i;
    const std::size_t b = i;
    while (i < text.size() && word_char(text[i])) ++i;
    if (i > b) {
      std::string w(text.substr(b, std::min<std::size_t>(i - b, 24)));
      for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.push_back(std::move(w));
      if (!from_end && out.size() >= max_words) break;
    }
  }
  if (from_end && out.size() > max_words) out.erase(out.begin(), out.end() - max_words);
  return out;
}

class Builder {
 public:
  Builder(std::uint32_t mask, SparseVector& out) : mask_(mask), out_(out) {}
  std::uint32_t bucket(std::string_view ns, std::string_view a, std::string_view b = {}) const {
    std::uint64_t h = fnv(kFnvOffset, ns);
    h = fnv(h ^ 0x1f, a);
    if (!b.empty()) h = fnv(h ^ 0x2f, b);
    return static_cast<std::uint32_t>((h ^ (h >> 29)) & mask_);
  }
  void add(std::string_view ns, std::string_view a, float value) {
    out_.emplace_back(bucket(ns, a), value);
  }
  // A dense sign, plain and crossed with the answer kind.
  void sign(std::string_view name, float value, std::string_view kind) {
    if (value == 0) return;
    out_.emplace_back(bucket("s", name), value);
    out_.emplace_back(bucket("sk", name, kind), value);
  }
  // Distinct tokens of a group, scaled to unit length.
  void bag(std::string_view ns, const std::vector<std::string>& w, bool bigrams) {
    std::vector<std::uint32_t> b;
    b.reserve(w.size() * (bigrams ? 2 : 1));
    for (std::size_t i = 0; i < w.size(); ++i) {
      b.push_back(bucket(ns, w[i]));
      if (bigrams && i + 1 < w.size()) b.push_back(bucket(ns, w[i], w[i + 1]));
    }
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    if (b.empty()) return;
    const float v = 1.0f / std::sqrt(static_cast<float>(b.size()));
    for (auto x : b) out_.emplace_back(x, v);
  }

 private:
  std::uint32_t mask_;
  SparseVector& out_;
};

float log1(std::size_t n) {
  return std::log1p(static_cast<float>(n));
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0, pos = 0;
  while ((pos = text.find(what, pos)) != std::string_view::npos) {
    ++n;
    pos += what.size();
  }
  return n;
}

}  // namespace

void FeatureHasher::features(const FeatureInput& in, SparseVector& out) const {
  out.clear();
  Builder f(mask_, out);
  const auto options = prompt_options(in.prompt);
  AnswerKind kind = AnswerKind::kText;
  if (!options.empty()) {
    kind = AnswerKind::kChoice;
  } else if (!code_of(in.answer).empty() || in.prompt.find("function") != std::string_view::npos) {
    kind = AnswerKind::kCode;
  }
  const std::string_view k = answer_kind_name(kind);
  f.add("bias", "", 1);
  f.add("model", in.model, 1);
  f.add("kind", k, 1);
  out.emplace_back(f.bucket("mk", in.model, k), 1);

  const auto answer_words = words(in.answer, 4096, false);
  f.bag("aw", answer_words, true);
  f.bag("pw", words(in.prompt, kPromptWords, true), false);

  std::size_t lines = 1;
  for (char c : in.answer) lines += c == '\n';
  f.sign("log_chars", log1(in.answer.size()), k);
  f.sign("log_lines", log1(lines), k);
  f.sign("log_words", log1(answer_words.size()), k);
  f.sign("log_prompt_chars", log1(in.prompt.size()), k);
  f.sign("hedges", log1(hedge_count(in.answer)), k);
  const auto refusal = refusal_phrase(in.answer);
  f.sign("refusal", refusal.empty() ? 0.f : 1.f, k);
  if (!refusal.empty()) out.emplace_back(f.bucket("refusal_model", in.model), 1);
  f.sign("length_cut", in.finish_reason == "length" ? 1.f : 0.f, k);

  if (kind == AnswerKind::kChoice) {
    static const auto extractor = *AnswerExtractor::make({.kind = AnswerKind::kChoice});
    const auto label = extractor.builtin(AnswerKind::kChoice, in.answer, options);
    f.sign("choice_none", label.empty() ? 1.f : 0.f, k);
    if (!label.empty()) {
      // Which option the answer names, relative to the options' count (a position prior).
      out.emplace_back(f.bucket("choice_pos", label, std::to_string(options.size())), 1);
      out.emplace_back(f.bucket("choice_model_pos", in.model, label), 1);
    }
    const bool bare = in.answer.find_first_not_of(" \n\r\t") != std::string_view::npos &&
                      std::all_of(in.answer.begin(), in.answer.end(), [](char c) {
                        return std::isupper(static_cast<unsigned char>(c)) ||
                               std::isspace(static_cast<unsigned char>(c)) || c == ')' || c == '.';
                      });
    f.sign("choice_bare", bare ? 1.f : 0.f, k);
  }

  const std::string_view code = code_of(in.answer);
  f.sign("code_found", code.empty() ? 0.f : 1.f, k);
  if (!code.empty()) {
    std::size_t code_lines = 1;
    for (char c : code) code_lines += c == '\n';
    const std::size_t fences = count(in.answer, "```");
    f.sign("code_fence_open", fences % 2 == 1 ? 1.f : 0.f, k);
    f.sign("code_log_lines", log1(code_lines), k);
    f.sign("code_defs", log1(count(code, "def ")), k);
    f.sign("code_return", count(code, "return") ? 1.f : 0.f, k);
    f.sign("code_print", count(code, "print(") ? 1.f : 0.f, k);
    f.sign("code_input", count(code, "input(") ? 1.f : 0.f, k);
    f.sign("code_import", count(code, "import ") ? 1.f : 0.f, k);
    f.sign("code_assert", count(in.answer, "assert ") ? 1.f : 0.f, k);
    f.sign("code_class", count(code, "class ") ? 1.f : 0.f, k);
    long depth = 0;
    for (char c : code)
      depth += (c == '(' || c == '[' || c == '{') - (c == ')' || c == ']' || c == '}');
    f.sign("code_unbalanced", depth != 0 ? 1.f : 0.f, k);
    // Recursion: the first defined name is called again.
    const auto def = code.find("def ");
    if (def != std::string_view::npos) {
      auto end = code.find('(', def);
      if (end != std::string_view::npos && end > def + 4) {
        const std::string call = std::string(code.substr(def + 4, end - def - 4)) + "(";
        f.sign("code_recursive", count(code, call) > 1 ? 1.f : 0.f, k);
      }
    }
    const std::size_t prose = in.answer.size() - code.size();
    f.sign("prose_log_chars", log1(prose), k);
  }
}

}  // namespace switchboard::judges::verifier
