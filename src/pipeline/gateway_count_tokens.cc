// POST /v1/messages/count_tokens (Anthropic's token counting; the Anthropic SDK's
// `messages.countTokens`): how many input tokens a Messages request would take, in Anthropic's
// shape ({"input_tokens": N}; errors as Anthropic's). docs/apis.md.
//
// A model with a replica that speaks Anthropic Messages (`api: anthropic`) is asked: the client's
// body goes to that replica's /v1/messages/count_tokens (model renamed, the replica's key) and
// its answer — a count or an error — comes back as it is. Otherwise, and when no such replica is
// up or it cannot be reached, the gateway estimates: the request read as chat completions (the
// text of its messages and tools, about four characters per token: the estimate routing and
// budgets use). `x-switchboard-tokens-source` says which: `upstream` or `estimated`. A route
// (its model is chosen per request) is estimated. A request with parts only Anthropic reads (a
// PDF, ...) cannot be estimated: 400 unless an Anthropic replica counts it.
//
// Keys as for the other endpoints (`auth:`; a key may count only names it may use); no model is
// called, so nothing is counted against a key's limits or budget and no decision is recorded.
#include <nlohmann/json.hpp>

#include "access/key.h"
#include "api/chat_request.h"
#include "api/messages.h"
#include "pipeline/gateway.h"
#include "pipeline/json_responses.h"
#include "pipeline/native/native_api.h"
#include "pool/health.h"

namespace switchboard::pipeline {

namespace {

constexpr std::size_t kMaxCountAnswer = 64 * 1024;

http::Response anthropic_error(const Error& e) {
  return json_response(http_status(e.kind),
                       api::anthropic_error_json(api::anthropic_error_type(e.kind), e.message));
}

http::Response counted(std::string body, std::string_view source, std::string_view model,
                       unsigned status = 200) {
  http::Response r = json_response(status, std::move(body));
  r.set("x-switchboard-tokens-source", std::string(source));
  r.set("x-switchboard-model", std::string(model));
  return r;
}

// The estimate: the text of the request's messages and the JSON of its tools.
Result<std::int64_t> estimate(const api::MessagesRequest& m) {
  auto chat = api::parse_chat_request(m.chat_body);
  if (!chat) return chat.error();
  const auto body = nlohmann::json::parse(m.chat_body, nullptr, false);
  std::size_t tool_chars = 0;
  if (body.is_object() && body.contains("tools")) tool_chars = body["tools"].dump().size();
  return chat->estimated_prompt_tokens + (tool_chars ? api::estimate_tokens(tool_chars) : 0);
}

// A replica of `m` that speaks Anthropic Messages and may take a request now, or null.
Replica* anthropic_replica(const ModelRuntime& m) {
  const std::int64_t now = pool::steady_ms();
  for (std::size_t i = 0; i < m.replicas.size(); ++i)
    if (m.apis[i] && m.apis[i]->name() == "anthropic" && pool::available(*m.replicas[i], now))
      return m.replicas[i].get();
  return nullptr;
}

}  // namespace

asio::awaitable<void> Gateway::count_tokens(http::Exchange& ex) {
  Worker& worker = *workers_[ex.worker()];
  const std::shared_ptr<Runtime> runtime = runtime_for(worker);
  std::optional<Error> refusal;
  std::optional<api::MessagesRequest> request;
  if (ex.read_error()) {
    refusal = *ex.read_error();
  } else if (auto who = caller(ex); !who) {
    refusal = who.error();
  } else if (auto parsed = api::parse_count_tokens_request(ex.request().body()); !parsed) {
    refusal = parsed.error();
  } else {
    request = std::move(*parsed);
    const bool is_route = runtime->find_route(request->model) != nullptr;
    if (!is_route && !runtime->find_model(request->model))
      refusal = make_error(ErrorKind::kNotFound, "model_not_found",
                           "model: unknown model or route '" + request->model.substr(0, 256) +
                               "' (GET /v1/models lists them)");
    else if (who->key && !who->key->key.may_name(request->model, is_route))
      refusal = make_error(ErrorKind::kForbidden, "model_not_allowed",
                           "key '" + who->key->key.name + "' may not use " +
                               (is_route ? "route" : "model") + " '" + request->model + "'");
  }
  if (refusal) {
    http::Response r = anthropic_error(*refusal);
    co_return (void) co_await ex.respond(std::move(r));
  }

  // Asked of an Anthropic replica of the named model, when it has one up.
  const ModelRuntime* model = runtime->find_model(request->model);
  if (Replica* replica = model ? anthropic_replica(*model) : nullptr) {
    const auto& rc = *replica->config;
    const std::string body = api::rewrite_model(
        ex.request().body(), rc.upstream_model.empty() ? model->config->name : rc.upstream_model);
    const auto deadline = std::chrono::steady_clock::now() + model->config->timeout;
    ModelCall call{model->config->name,
                   replica,
                   "/v1/messages/count_tokens",
                   body,
                   model->authorization[replica->ordinal],
                   false,
                   deadline,
                   model->upstream_headers[replica->ordinal]};
    auto started = co_await upstream_of(worker).start(call);
    if (started) {
      const unsigned status = (*started)->status();
      auto whole = co_await (*started)->read_all(kMaxCountAnswer, deadline);
      if (whole) {
        http::Response r = counted(std::move(*whole), "upstream", request->model, status);
        co_return (void) co_await ex.respond(std::move(r));
      }
    }
    // Not reached or cut off: estimated below.
  }

  std::optional<Error> failed;
  std::int64_t tokens = 0;
  if (!request->native_only.empty()) {
    failed = make_error(ErrorKind::kBadRequest, "invalid_request",
                        "cannot count this request here: " + request->native_only +
                            " (and none of '" + request->model.substr(0, 256) + "' is up to count it)");
  } else if (auto n = estimate(*request); !n) {
    failed = n.error();
  } else {
    tokens = *n;
  }
  http::Response r = failed ? anthropic_error(*failed)
                            : counted(nlohmann::json{{"input_tokens", tokens}}.dump(), "estimated",
                                      request->model);
  co_await ex.respond(std::move(r));
}

}  // namespace switchboard::pipeline
