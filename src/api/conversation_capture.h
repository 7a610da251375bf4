// Keeping a conversation for a later request (the Responses API's `previous_response_id`,
// docs/apis.md): a capture is built from one request's body, sees the answer the client gets — a
// whole body, or each server-sent event's data of a stream — and gives the conversation to store
// under the answer's id. Pure, never throws on any input; one per request, used by one coroutine.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::api {

// What a request asks of the conversation store.
struct ConversationRequest {
  std::string previous_id;  // the stored conversation it continues ("" = none)
  bool store = false;       // keep this exchange (`store` true or left out, as OpenAI's default)
};

// Input items that name, by id, items of responses the gateway stored (the Responses API's
// `item_reference`, which the AI SDK's OpenAI provider sends for earlier output): which stored
// responses to read, and the body with the references each one holds replaced by the items. Built
// from one request's body; pure, never throws on any input; one per request.
class ItemReferences {
 public:
  virtual ~ItemReferences() = default;
  // The ids of the stored responses to read (distinct), or an error when the body names more
  // than a request may (a bound on the lookups one request costs).
  virtual Result<std::vector<std::string>> responses() const = 0;
  // One stored response object (its JSON text): the references to its output items are resolved.
  virtual void take(std::string_view response) = 0;
  // The body with the resolved references replaced (nullopt: none was, the body is unchanged).
  // References left unresolved stay as they are (the front end's parse says what is wrong).
  virtual std::optional<std::string> body() const = 0;
};

class ConversationCapture {
 public:
  struct Stored {
    std::string id;     // the id the client will name (the response's id)
    std::string items;  // the conversation so far, as the API's input items (JSON array text)
    // The answer as the client got it (the response object's JSON text, marked `"store": true`),
    // for retrieval by id (GET /v1/responses/{id}).
    std::string response;
  };
  virtual ~ConversationCapture() = default;
  virtual void whole(std::string_view body) = 0;
  virtual void event(std::string_view data) = 0;
  // Once a finished answer was seen: what to store; nullopt otherwise (an error, a broken stream).
  virtual std::optional<Stored> result() const = 0;
};

}  // namespace switchboard::api
