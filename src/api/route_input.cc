#include "api/route_input.h"

#include <nlohmann/json.hpp>

namespace switchboard::api {
Result<std::string> chat_body_for(std::span<const PromptMessage> messages, std::string_view route) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json body = {{"model", route}, {"messages", std::move(list)}};
  try {
    return body.dump();  // strict: invalid UTF-8 throws rather than being silently changed
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_prompt", std::string("prompt text: ") + e.what());
  }
}

Result<ChatRequest> chat_request_for(std::span<const PromptMessage> messages, std::string_view route) {
  auto body = chat_body_for(messages, route);
  if (!body) return body.error();
  return parse_chat_request(*body);
}

Result<ChatRequest> chat_request_for_prompt(std::string_view prompt, std::string_view route) {
  const PromptMessage user{"user", prompt};
  return chat_request_for(std::span(&user, 1), route);
}

}  // namespace switchboard::api
