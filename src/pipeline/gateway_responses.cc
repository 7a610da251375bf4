// GET and DELETE /v1/responses/{id}: a stored Responses-API answer read back or deleted, and
// GET /v1/responses/{id}/input_items: the items it was generated from, a page at a time
// (pipeline/gateway.h, docs/apis.md). Only with `apis.responses.store: true`, and only answers
// kept (their request did not say `store: false`). With `auth:`, an answer stored with an API key
// is that key's alone (another key, or none, gets 404 as for an unknown id). SQLite is read and
// written on the lookup pool, never on a worker's event loop.
#include <nlohmann/json.hpp>

#include "api/json_util.h"
#include "api/responses_conversation.h"
#include "core/query_string.h"
#include "pipeline/gateway.h"
#include "pipeline/json_responses.h"

namespace switchboard::pipeline {

namespace {

Error not_found(const std::string& id) {
  return make_error(ErrorKind::kNotFound, "response_not_found",
                    "Response with id '" + id + "' not found.");
}

// Whether the query asks for the response as a stream of events (`?stream=true`).
bool wants_stream(std::string_view target) {
  const auto query = parse_query(query_of(target));
  const auto it = query.find("stream");
  return it != query.end() && query_flag(it->second);
}

}  // namespace

asio::awaitable<void> Gateway::stored_response_endpoint(http::Exchange& ex, std::string_view tail) {
  const bool erase = ex.request().method() == http::bhttp::verb::delete_;
  const std::size_t slash = tail.find('/');
  const std::string id(tail.substr(0, slash));
  const bool list_inputs = slash != std::string_view::npos && tail.substr(slash) == "/input_items";
  const std::shared_ptr<Runtime> rt = runtime();  // holds the settings read below
  const config::ApiSettings* settings = rt->config->find_api("responses");
  std::optional<Error> refusal;
  Result<api::InputItemsQuery> query = api::InputItemsQuery{};
  if (list_inputs) query = api::parse_input_items_query(query_of(ex.request().target()));
  if (id.empty() || (slash != std::string_view::npos && (!list_inputs || erase))) {
    refusal = make_error(ErrorKind::kNotFound, "not_found",
                         "no such endpoint: " + std::string(ex.request().method_string()) +
                             " /v1/responses/" + std::string(tail) +
                             " (a stored response is read or deleted by its id; its input items "
                             "are listed by GET /v1/responses/{id}/input_items)");
  } else if (!query) {
    refusal = query.error();
  } else if (!erase && !list_inputs && wants_stream(ex.request().target())) {
    refusal = make_error(ErrorKind::kBadRequest, "unsupported_parameter",
                         "stream: a stored response is returned whole (JSON), not replayed as "
                         "events; retrieve it without stream=true");
  } else if (!settings || !settings->store) {
    refusal = make_error(ErrorKind::kNotFound, "response_not_found",
                         "Response with id '" + id +
                             "' not found: this gateway does not store responses "
                             "(apis.responses.store is off).");
  }
  // (Responses are built before each co_await: GCC 12 may destroy temporaries inside a co_await
  // expression twice.)
  if (refusal) {
    http::Response r = error_response(*refusal);
    co_return (void) co_await ex.respond(std::move(r));
  }
  auto caller = caller_key(ex);
  if (!caller) {
    http::Response r = error_response(caller.error());
    co_return (void) co_await ex.respond(std::move(r));
  }
  const store::Owner owner = caller->value_or(store::Owner{});

  std::optional<store::StoredResponse> found = co_await stored_response(id, owner);
  if (!found) {
    http::Response r = error_response(not_found(id));
    co_return (void) co_await ex.respond(std::move(r));
  }
  if (found->ambiguous && !erase) {  // deleting removes them all, which is what the client can do
    http::Response r = error_response(api::ambiguous_response_id(id));
    co_return (void) co_await ex.respond(std::move(r));
  }
  if (list_inputs && !found->response.empty()) {
    auto listed = api::responses_input_items(id, found->items, found->response, *query);
    http::Response r =
        listed ? json_response(200, std::move(*listed)) : error_response(listed.error());
    co_return (void) co_await ex.respond(std::move(r));
  }
  if (!erase) {
    // Kept for previous_response_id only: a row stored before the response object was kept, or
    // one whose response object did not fit max_stored_bytes. A row that is not a response
    // object (damaged in the store) is the gateway's error, not a 200 with garbage.
    const bool readable = found->response.empty() || api::parse_json(found->response).is_object();
    http::Response r =
        !readable ? error_response(make_error(
                        ErrorKind::kInternal, "stored_response_unreadable",
                        "the stored response '" + id + "' is not readable (damaged in the store)"))
        : found->response.empty()
            ? error_response(make_error(
                  ErrorKind::kNotFound, "response_not_found",
                  "Response with id '" + id +
                      "' was kept for previous_response_id only (stored before responses were "
                      "kept for retrieval, or larger than apis.responses.max_stored_bytes): it "
                      "can be continued, not read."))
            : json_response(200, std::move(found->response));
    co_return (void) co_await ex.respond(std::move(r));
  }

  struct Erased {
    bool done = false;
    std::string error;
  };
  auto run = [store = store_.get(), id = &id, owner = &owner] {
    Erased e;
    e.done = store->erase_response(*id, *owner, &e.error);
    return e;
  };
  Erased erased;
  if (!lookups_) {
    erased = run();  // tests: nothing to block
  } else {
    // The lambda captures only pointers (this frame outlives it; GCC 12 may copy a closure in a
    // co_await expression bitwise).
    erased = co_await asio::co_spawn(
        *lookups_, [run = &run]() -> asio::awaitable<Erased> { co_return (*run)(); },
        asio::use_awaitable);
  }
  if (!erased.done) {
    // Found a moment ago: either deleted meanwhile (404) or the store failed (503, say why).
    Error e = erased.error.empty()
                  ? not_found(id)
                  : make_error(ErrorKind::kUnavailable, "store_unavailable",
                               "the stored response could not be deleted: " + erased.error);
    http::Response r = error_response(e);
    co_return (void) co_await ex.respond(std::move(r));
  }
  const nlohmann::json body{{"id", id}, {"object", "response"}, {"deleted", true}};
  http::Response r = json_response(200, body.dump());
  co_await ex.respond(std::move(r));
}

}  // namespace switchboard::pipeline
