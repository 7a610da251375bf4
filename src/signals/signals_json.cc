#include "signals/signals_json.h"

#include <fmt/format.h>

namespace switchboard::signals {

nlohmann::json signals_json(const Signals& s) {
  nlohmann::json j = {{"prompt_tokens", s.prompt_tokens}, {"message_count", s.message_count}};
  if (!s.language.empty()) {
    j["language"] = s.language;
    j["language_confidence"] = s.language_confidence;
  }
  j["has_code"] = s.has_code;
  if (!s.embedding.empty()) j["embedding_dim"] = s.embedding.size();
  if (!s.task.empty()) {
    j["task"] = s.task;
    j["task_confidence"] = s.task_confidence;
  }
  return j;
}

std::string signals_text(const Signals& s) {
  std::string out = fmt::format("~{} tokens in {} message(s)", s.prompt_tokens, s.message_count);
  if (!s.language.empty())
    out += fmt::format(", language {} ({:.2f})", s.language, s.language_confidence);
  if (s.has_code) out += ", code";
  if (!s.embedding.empty()) out += fmt::format(", embedding[{}]", s.embedding.size());
  if (!s.task.empty()) out += fmt::format(", task {} ({:.2f})", s.task, s.task_confidence);
  return out;
}

}  // namespace switchboard::signals
