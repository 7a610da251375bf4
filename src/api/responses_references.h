// Item references of the Responses API (`{"type":"item_reference","id":"msg_…"}` input items) to
// output items of responses the gateway stored (docs/apis.md, "Item references"). The AI SDK's
// OpenAI provider sends earlier output this way unless told `store: false`; a chat replica cannot
// take a reference, so the gateway replaces each one by the item itself before the front end
// translates the body.
//
// The ids the gateway gives a translated answer's items carry its response id's random stem
// (api/random_id.h): msg_<stem>[_n], fc_<stem>_<index>, rs_<stem>[_n] belong to resp_<stem>. Only
// such ids are looked up (one stored response each, at most kMaxReferencedResponses per request);
// the item must be in that response's output with that very id. A passed-through answer's items
// carry the replica's own ids: their references stay, for a replica speaking the Responses API.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/conversation_capture.h"

namespace switchboard::api {

// Stored responses one request may name by item references (each is a lookup of a stored
// response, read whole): more is 400 invalid_request (previous_response_id names a conversation at
// once).
inline constexpr std::size_t kMaxReferencedResponses = 256;

// "resp_<stem>" when `item_id` is an id the gateway gives a translated answer's output items, else
// nullopt.
std::optional<std::string> minted_item_response(std::string_view item_id);

// The references of a /v1/responses body (lenient: a body that is not an object, or items of the
// wrong shape, give none; the parse says what is wrong). A reference resolves to the item as an
// input item (an assistant message with its output_text parts, a function_call), or to nothing
// (a reasoning item: chat completions take none back, and no server knows the gateway's ids).
std::unique_ptr<ItemReferences> responses_item_references(std::string_view body);

}  // namespace switchboard::api
