#include "eval/route_input.h"

#include <nlohmann/json.hpp>

namespace switchboard::eval {
namespace {

Result<api::ChatRequest> parse(nlohmann::json body) {
  std::string text;
  try {
    text = body.dump();  // strict: invalid UTF-8 throws rather than being silently changed
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_prompt",
                      std::string("prompt text: ") + e.what());
  }
  return api::parse_chat_request(text);
}

}  // namespace

Result<std::string> chat_body_for(const data::PromptRecord& record, const std::string& route) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : record.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json body = {{"model", route}, {"messages", std::move(messages)}};
  try {
    return body.dump();  // strict: invalid UTF-8 throws rather than being silently changed
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorKind::kBadRequest, "bad_prompt", std::string("prompt text: ") + e.what());
  }
}

Result<api::ChatRequest> chat_request_for(const data::PromptRecord& record,
                                          const std::string& route) {
  auto body = chat_body_for(record, route);
  if (!body) return body.error();
  return api::parse_chat_request(*body);
}

Result<api::ChatRequest> chat_request_for_prompt(const std::string& prompt,
                                                 const std::string& route) {
  return parse({{"model", route},
                {"messages", nlohmann::json::array({{{"role", "user"}, {"content", prompt}}})}});
}

}  // namespace switchboard::eval
