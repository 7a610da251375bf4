// Keeping a conversation for a later request (the Responses API's `previous_response_id`,
// docs/apis.md): a capture is built from one request's body, sees the answer the client gets — a
// whole body, or each server-sent event's data of a stream — and gives the conversation to store
// under the answer's id. Pure, never throws on any input; one per request, used by one coroutine.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::api {

// What a request asks of the conversation store.
struct ConversationRequest {
  std::string previous_id;  // the stored conversation it continues ("" = none)
  bool store = false;       // keep this exchange (only an explicit `store: true`)
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
