#include "api/errors.h"

#include <nlohmann/json.hpp>

namespace switchboard::api {

std::string error_param(std::string_view m) {
  const bool quoted = !m.empty() && m.front() == '\'';
  std::size_t i = quoted ? 1 : 0;
  const std::size_t start = i;
  const auto ident = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  // name ( [digits] )* ( . name ( [digits] )* )*
  for (;;) {
    const std::size_t name = i;
    while (i < m.size() && ident(m[i])) ++i;
    if (i == name || (m[name] >= '0' && m[name] <= '9')) return {};
    while (i < m.size() && m[i] == '[') {
      const std::size_t digits = ++i;
      while (i < m.size() && m[i] >= '0' && m[i] <= '9') ++i;
      if (i == digits || i == m.size() || m[i] != ']') return {};
      ++i;
    }
    if (i < m.size() && m[i] == '.') {
      ++i;
      continue;
    }
    break;
  }
  const std::string_view field = m.substr(start, i - start);
  if (quoted) {
    if (i == m.size() || m[i] != '\'') return {};
    ++i;
  }
  const std::string_view rest = m.substr(i);
  for (std::string_view follows : {" must", " is ", " has ", ":"})
    if (rest.starts_with(follows)) return std::string(field);
  return {};
}

std::string error_json(const Error& error, bool chat_fields) {
  nlohmann::json param = nullptr;
  if (error.code == "invalid_request")
    if (auto p = error_param(error.message);
        !p.empty() && (chat_fields || !p.starts_with("messages")))
      param = std::move(p);
  nlohmann::json j = {{"error",
                       {{"message", error.message},
                        {"type", openai_error_type(error.kind)},
                        {"code", error.code},
                        {"param", std::move(param)}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_sse_event(const Error& error) { return "data: " + error_json(error) + "\n\n"; }

}  // namespace switchboard::api
