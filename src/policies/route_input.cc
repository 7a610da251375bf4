#include "policies/route_input.h"

#include <vector>

#include "api/route_input.h"

namespace switchboard::policies {

namespace {
std::vector<api::PromptMessage> messages_of(const data::PromptRecord& record) {
  std::vector<api::PromptMessage> messages;
  messages.reserve(record.messages.size());
  for (const auto& m : record.messages) messages.push_back({m.role, m.content});
  return messages;
}
}  // namespace

Result<std::string> chat_body_for(const data::PromptRecord& record, std::string_view route) {
  return api::chat_body_for(messages_of(record), route);
}

Result<api::ChatRequest> chat_request_for(const data::PromptRecord& record, std::string_view route) {
  return api::chat_request_for(messages_of(record), route);
}

}  // namespace switchboard::policies
