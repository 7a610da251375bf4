// What a routing policy sees of a recorded prompt, built exactly as the gateway builds it.
//
// The evaluator must route a TEST prompt through the same code path as a live request, so a
// record's messages are written as an OpenAI chat-completions body and parsed by the gateway's own
// parser (api::parse_chat_request); the RouteRequest and Signals are then filled the way
// pipeline/chat.cc fills them. Any difference between offline and online decisions would make the
// offline figures meaningless.
#pragma once

#include "pipeline/runtime.h"

#include <optional>
#include <string>

#include "api/chat_request.h"
#include "data/outcomes.h"
#include "switchboard/policy.h"
#include "switchboard/result.h"

namespace switchboard::eval {

// The chat-completions body a client would send for `record` to `route`: {"model","messages"}.
// Errors: the record's text is not valid UTF-8 (kBadRequest).
Result<std::string> chat_body_for(const data::PromptRecord& record, const std::string& route);

// The request a client would send for `record` to `route` (a JSON body with model and messages),
// parsed by the gateway's parser. Errors: the record's text is not valid UTF-8 (kBadRequest).
Result<api::ChatRequest> chat_request_for(const data::PromptRecord& record,
                                          const std::string& route);

// The same for a bare prompt: one user message.
Result<api::ChatRequest> chat_request_for_prompt(const std::string& prompt,
                                                 const std::string& route);

// The policy inputs come from pipeline::route_request() and pipeline::signals_for(), exactly as
// in the gateway.

}  // namespace switchboard::eval
