#include "policies/route_input.h"

#include <vector>

#include "api/route_input.h"

namespace switchboard::policies {

Result<api::ChatRequest> chat_request_for(const data::PromptRecord& record,
                                          std::string_view route) {
  std::vector<api::PromptMessage> messages;
  messages.reserve(record.messages.size());
  for (const auto& m : record.messages) messages.push_back({m.role, m.content});
  return api::chat_request_for(messages, route);
}

}  // namespace switchboard::policies
