#include "policies/classifier/fasttext_text.h"

#include <cctype>

namespace switchboard::policies {

std::string fasttext_text(std::string_view text, std::string_view task, std::size_t max_tokens) {
  if (text.size() > kClassifierBytes) {
    text.remove_prefix(text.size() - kClassifierBytes);
    while (!text.empty() && !std::isspace(static_cast<unsigned char>(text.front())))
      text.remove_prefix(1);
  }
  std::string out;
  out.reserve(text.size() + 32);
  std::size_t tokens = 0;
  bool in_word = false;
  auto end_word = [&] {
    if (in_word) ++tokens;
    in_word = false;
  };
  for (unsigned char c : text) {
    if (tokens >= max_tokens) break;
    if (std::isalnum(c) || c >= 0x80 || c == '_') {
      if (!in_word && !out.empty()) out.push_back(' ');
      in_word = true;
      out.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    } else {
      end_word();
      if (c > ' ' && c < 0x7f) {  // punctuation: a token of its own
        if (!out.empty()) out.push_back(' ');
        out.push_back(static_cast<char>(c));
        ++tokens;
      }
    }
  }
  // fastText takes any token starting with __label__ for a label, wherever it is: a prompt that
  // quotes one added a label of its own to the model (and could vote for a model index).
  constexpr std::string_view kLabel = "__label__";
  for (std::size_t at = out.find(kLabel); at != std::string::npos; at = out.find(kLabel, at + 1))
    if (at == 0 || out[at - 1] == ' ') out.erase(at, 1);
  if (!task.empty()) {
    if (!out.empty()) out.push_back(' ');
    out += "__task__";
    for (char c : task) out.push_back(c == ' ' ? '_' : c);
  }
  return out;
}

}  // namespace switchboard::policies
