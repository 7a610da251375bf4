// The chat request a client would send for a recorded or bare prompt, built exactly as the gateway
// builds it.
//
// Offline users (the evaluator, the trainers, `switchboard route`) must route a prompt through the
// same code path as a live request, so the messages are written as an OpenAI chat-completions body
// and parsed by the gateway's own parser (parse_chat_request); the RouteRequest and Signals are
// then filled by pipeline::route_request() and pipeline::signals_for() as in the gateway. Any
// difference between offline and online decisions would make the offline figures meaningless.
// Recorded prompts (data::PromptRecord) come through policies/route_input.h.
#pragma once

#include <span>
#include <string_view>

#include "api/chat_request.h"
#include "switchboard/result.h"

namespace switchboard::api {

struct PromptMessage {
  std::string_view role;
  std::string_view content;
};

// The chat-completions body a client would send to `route` with `messages`: {"model","messages"}.
// Errors: a text is not valid UTF-8 (kBadRequest, "bad_prompt").
Result<std::string> chat_body_for(std::span<const PromptMessage> messages, std::string_view route);

// The request a client would send to `route` with `messages` (a JSON body with model and
// messages), parsed by the gateway's parser. Errors: a text is not valid UTF-8 (kBadRequest,
// "bad_prompt"), or the parser's (no messages).
Result<ChatRequest> chat_request_for(std::span<const PromptMessage> messages,
                                     std::string_view route);

// The same for a bare prompt: one user message.
Result<ChatRequest> chat_request_for_prompt(std::string_view prompt, std::string_view route);

}  // namespace switchboard::api
