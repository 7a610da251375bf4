// Item references of a request to items of responses the gateway stored (the Responses API's
// item_reference; api/responses_references.h, docs/apis.md): resolved before the front end
// translates the body. Each stored response named is looked up as previous_response_id's is — for
// the caller's API key only, off the worker's event loop, one answered but not yet recorded waited
// for — one at a time, so a request holds at most one stored response read whole besides the items
// it keeps; their number is bounded (api::kMaxReferencedResponses).
#include "pipeline/gateway.h"

namespace switchboard::pipeline {

asio::awaitable<Result<std::optional<std::string>>> Gateway::resolve_references(
    http::Exchange& ex, api::ItemReferences& references) {
  auto responses = references.responses();
  if (!responses) co_return responses.error();
  if (responses->empty()) co_return std::optional<std::string>();
  // A caller the auth stage will refuse (no key, or an unknown one, where keys are required) is
  // not looked up: its references stay, and the stages refuse it.
  auto caller = caller_key(ex);
  if (!caller) co_return std::optional<std::string>();
  const store::Owner owner = caller->value_or(store::Owner{});
  for (const std::string& id : *responses) {
    std::optional<store::StoredResponse> stored = co_await stored_response(id, owner);
    // An ambiguous id (an upstream reusing ids) resolves nothing: which response is meant cannot
    // be told (api::ambiguous_response_id); the parse then refuses the reference.
    if (stored && !stored->ambiguous && !stored->response.empty()) references.take(stored->response);
  }
  co_return references.body();
}

}  // namespace switchboard::pipeline
