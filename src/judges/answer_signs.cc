#include "judges/answer_signs.h"

#include <array>
#include <cctype>
#include <string>

namespace switchboard::judges {
namespace {

constexpr std::array<std::string_view, 34> kRefusals = {
    "i cannot",
    "i can't",
    "i can not",
    "i won't",
    "i will not",
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "i apologise",
    "as an ai",
    "as a language model",
    "as an artificial intelligence",
    "i'm unable",
    "i am unable",
    "i'm not able",
    "i am not able",
    "i do not feel comfortable",
    "i don't feel comfortable",
    "i do not have enough",
    "i don't have enough",
    "i do not have sufficient",
    "i don't have sufficient",
    "i do not know",
    "i don't know",
    "i must decline",
    "i'm afraid i",
    "i am afraid i",
    "there is not enough information",
    "there isn't enough information",
    "there is insufficient information",
    "it is not possible to determine",
    "it's not possible to determine",
    "i do not have access",
    "i don't have access",
};

// Openers a refusal may follow.
constexpr std::array<std::string_view, 6> kOpeners = {"unfortunately ", "sorry ", "hmm ",
                                                      "well ",          "okay ",  "ok "};

constexpr std::array<std::string_view, 18> kHedges = {
    "i think",  "i believe",   "probably",  "possibly", "perhaps",       "maybe",
    "not sure", "might be",    "may be",    "could be", "it seems",      "likely",
    "i guess",  "not certain", "uncertain", "unclear",  "my best guess", "approximately",
};

// Lower-cased ASCII with runs of blanks and the punctuation ",;:" folded into one space, of at most
// `limit` bytes of `text` (apostrophes kept: "can't").
std::string fold(std::string_view text, std::size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit));
  bool space = true;  // drop leading blanks
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c) || c == ',' || c == ';' || c == ':' || c == '*' || c == '"') {
      if (!space) out.push_back(' ');
      space = true;
      continue;
    }
    space = false;
    out.push_back(c == 0xE2 ? '\'' : static_cast<char>(std::tolower(c)));  // curly quote lead byte
    if (c == 0xE2 && i + 2 < text.size()) i += 2;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool is_word(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

std::string_view refusal_phrase(std::string_view answer, bool truncated_counts) {
  std::string text = fold(answer, kRefusalWindow);
  std::string_view t = text;
  for (int round = 0; round < 2; ++round) {
    for (auto opener : kOpeners)
      if (t.substr(0, opener.size()) == opener) {
        t.remove_prefix(opener.size());
        break;
      }
  }
  for (auto phrase : kRefusals)
    if (t.substr(0, phrase.size()) == phrase) return phrase;
  // The whole answer is a cut-off start of a refusal ("I do", "Unfortunately I").
  std::size_t letters = 0;
  for (char c : t) letters += std::isalpha(static_cast<unsigned char>(c)) != 0;
  if (truncated_counts && letters >= 1 && t.size() < 40) {
    const bool had_opener = t.size() != text.size();
    if (had_opener && (t == "i" || t == "i'm" || t == "i am")) return "unfortunately i";
    if (t.size() >= 4 || had_opener)
      for (auto phrase : kRefusals)
        if (phrase.size() > t.size() && phrase.substr(0, t.size()) == t && phrase[t.size()] == ' ')
          return phrase;
  }
  return {};
}

std::size_t hedge_count(std::string_view answer) {
  std::size_t count = 0;
  std::string lower(answer.size(), ' ');
  for (std::size_t i = 0; i < answer.size(); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(answer[i])));
  for (auto h : kHedges) {
    std::size_t pos = 0;
    while ((pos = lower.find(h, pos)) != std::string::npos) {
      const bool left = pos == 0 || !is_word(lower[pos - 1]);
      const bool right = pos + h.size() >= lower.size() || !is_word(lower[pos + h.size()]);
      count += left && right;
      pos += h.size();
    }
  }
  return count;
}

}  // namespace switchboard::judges
