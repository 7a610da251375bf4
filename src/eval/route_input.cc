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

Result<api::ChatRequest> chat_request_for(const data::PromptRecord& record,
                                          const std::string& route) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : record.messages)
    messages.push_back({{"role", m.role}, {"content", m.content}});
  return parse({{"model", route}, {"messages", std::move(messages)}});
}

Result<api::ChatRequest> chat_request_for_prompt(const std::string& prompt,
                                                 const std::string& route) {
  return parse({{"model", route},
                {"messages", nlohmann::json::array({{{"role", "user"}, {"content", prompt}}})}});
}

}  // namespace switchboard::eval
