// Stored Responses conversations (`previous_response_id`, docs/apis.md), the pure parts: what a
// request asks, the request continued from a stored conversation, and the conversation an answer
// adds. The store itself is the decision store's `responses` table (store/stored_responses.h); the
// gateway looks it up before the front end translates the body.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/conversation_capture.h"
#include "switchboard/result.h"

namespace switchboard::api {

// Lenient: a body that is not a JSON object, or fields of the wrong type, give {} (the front
// end's parse reports what is wrong).
// previous_response_id and `store` (true unless the body says `store: false`: OpenAI's default —
// the AI SDK's OpenAI provider leaves it out and then names earlier output by item_reference).
ConversationRequest responses_conversation(std::string_view body);

// 400 `response_id_ambiguous`: more than one stored response the caller may see has the id
// `response_id` (an upstream that reuses ids; store::StoredResponse::ambiguous). The gateway does
// not guess which conversation is meant — the newest would hand one client another's.
Error ambiguous_response_id(const std::string& response_id);

// The body with the stored conversation `items` (a JSON array of input items) before its own
// input (a string input becomes one user message item) and previous_response_id removed. The
// request's own `instructions` stay (as OpenAI's: a previous response's instructions are not
// carried over). Errors (kBadRequest, invalid_request): the body is not a JSON object, or its
// input is neither a string nor an array; stored items that are not an array (kInternal).
Result<std::string> responses_continue(std::string_view body, std::string_view items);

// The conversation after one exchange: the request's input items, then the answer's output —
// message items as assistant messages with their output_text parts, function_call items as
// {type, call_id, name, arguments}; other items (reasoning, ...) are left out. From a whole
// `response` body, or a stream's response.completed / response.incomplete event.
std::unique_ptr<ConversationCapture> responses_capture(std::string_view request_body);

// A response object's output items as input items for a later request (what a stored
// conversation keeps of them): message items as assistant messages with their output_text parts,
// function_call items as {type, call_id, name, arguments}, reasoning items with their id, summary
// and encrypted_content — not reasoning given as plain text without encrypted_content (a chat
// replica's, under an id only this gateway knows); built-in tool calls are left out.
nlohmann::json responses_output_as_input(const nlohmann::json& response);

// GET /v1/responses/{id}/input_items (the openai SDK's responses.inputItems.list): the items the
// stored response was generated from — its whole input, the conversation it continued included —
// that is the stored conversation `items` without the response's own output items. Each item as
// OpenAI lists it: an `id` (its own, else — or when an earlier item has it — one made from the
// response id and its position: unique in the list, stable across calls), `type` (message when
// it is not a string), a message's string content as one input_text
// (output_text for the assistant) part, `status` completed. A page: `order` asc or desc (the
// default, newest first), `limit` 1-100 (20), `after` an item id (the page starts past it).
struct InputItemsQuery {
  bool ascending = false;
  int limit = 20;
  std::string after;
};
// The query string percent-decoded (core/query_string.h). Errors (kBadRequest, invalid_request):
// limit out of range or not a number, order not asc/desc; reads `limit`, `order`, `after`
// (others, like include[], ignored).
Result<InputItemsQuery> parse_input_items_query(std::string_view query);
// {"object":"list","data":[...],"first_id","last_id","has_more"}. Errors: `after` names no item
// (kBadRequest, invalid_request); `items` or `response` unreadable (kInternal).
Result<std::string> responses_input_items(std::string_view response_id, std::string_view items,
                                          std::string_view response, const InputItemsQuery& q);

}  // namespace switchboard::api
