// What a routing policy sees of a recorded prompt (data/outcomes.h): the chat request a client
// would send for it, parsed by the gateway's own parser (api/route_input.h). Trainers build their
// training rows from it and the evaluator routes its TEST prompts with it, so a policy is trained
// and evaluated on exactly what the gateway will show it.
#pragma once

#include <string_view>

#include "api/chat_request.h"
#include "data/outcomes.h"
#include "switchboard/result.h"

namespace switchboard::policies {

// The chat-completions body a client would send for `record` to `route`. Errors: the record's
// text is not valid UTF-8 (kBadRequest).
Result<std::string> chat_body_for(const data::PromptRecord& record, std::string_view route);

// The request a client would send for `record` to `route`. Errors: the record's text is not valid
// UTF-8 (kBadRequest).
Result<api::ChatRequest> chat_request_for(const data::PromptRecord& record, std::string_view route);

}  // namespace switchboard::policies
