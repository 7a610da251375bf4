// Token counting, without calling a model (docs/apis.md):
//   POST /v1/messages/count_tokens   Anthropic's (the Anthropic SDK's `messages.countTokens`):
//                                    {"input_tokens": N}, errors in Anthropic's shape
//   POST /v1/responses/input_tokens  OpenAI's (the openai SDK's `responses.inputTokens.count`):
//                                    {"object": "response.input_tokens", "input_tokens": N},
//                                    errors in OpenAI's shape; `model` may be absent (estimated)
// A named model with a replica that speaks the API natively (`api: anthropic` / `api: responses`)
// is asked: the client's body goes to that replica's own counting endpoint (model renamed, the
// replica's key) and its answer — a count or an error — comes back as it is. Otherwise, and when
// no such replica is up, it cannot be reached or it has no such endpoint (404, 405, 501), the
// gateway estimates: the request read as chat
// completions (the text of its messages and tools, about four characters per token: the estimate
// routing and budgets use). `x-switchboard-tokens-source` says which: `upstream` or `estimated`.
// A route (its model is chosen per request) and a LoRA adapter's name are estimated. A request
// with a file (a PDF) or parts only the native API reads cannot be estimated: 400 unless a native
// replica counts it. The body goes to the replica as the client sent it (fields its
// counting endpoint does not take are refused by it, as they would be without the gateway).
//
// Keys as for the other endpoints (`auth:`; a key may count only names it may use). No model
// answers: nothing counts against a key's rate limits or budget, no decision is recorded, and a
// replica's counting call does not touch its health or load figures.
#include <optional>
#include <nlohmann/json.hpp>

#include "access/key.h"
#include "api/chat_request.h"
#include "api/json_util.h"
#include "api/messages.h"
#include "api/responses.h"
#include "pipeline/gateway.h"
#include "pipeline/json_responses.h"
#include "pipeline/memory_hold.h"
#include "pipeline/native/native_api.h"
#include "pool/health.h"
#include "switchboard/ascii.h"

namespace switchboard::pipeline {

namespace {

constexpr std::size_t kMaxCountAnswer = 64 * 1024;

// What a counting request of either API says, read by its parser.
struct CountRequest {
  std::string model;  // "" = none named (estimated)
  std::string chat_body;
  std::string native_only;
  std::optional<std::string> native_body;  // what a native replica gets, when not the client's
};

template <typename Parsed>
Result<CountRequest> count_request(Result<Parsed> r) {
  if (!r) return r.error();
  CountRequest out{std::move(r->model), std::move(r->chat_body), std::move(r->native_only), {}};
  if constexpr (requires { r->native_body; }) out.native_body = std::move(r->native_body);
  return out;
}

}  // namespace

// One API's token counting.
struct TokenCountApi {
  std::string_view native_api;     // the `api:` of replicas asked
  std::string_view upstream_path;  // their counting endpoint, which the gateway serves too
  Result<CountRequest> (*parse)(std::string_view body);
  std::string (*answer)(std::int64_t tokens);
  http::Response (*error)(const Error& e);
};

namespace {

const TokenCountApi kAnthropicCount{
    "anthropic", "/v1/messages/count_tokens",
    [](std::string_view body) { return count_request(api::parse_count_tokens_request(body)); },
    [](std::int64_t n) { return nlohmann::json{{"input_tokens", n}}.dump(); },
    [](const Error& e) {
      return json_response(http_status(e.kind), api::anthropic_error_json(
                                                    api::anthropic_error_type(e.kind), e.message));
    }};

const TokenCountApi kResponsesCount{
    "responses", "/v1/responses/input_tokens",
    [](std::string_view body) { return count_request(api::parse_input_tokens_request(body)); },
    [](std::int64_t n) {
      return nlohmann::json{{"object", "response.input_tokens"}, {"input_tokens", n}}.dump();
    },
    [](const Error& e) { return error_response(e); }};

http::Response counted(std::string body, std::string_view source, std::string_view model,
                       unsigned status = 200) {
  http::Response r = json_response(status, std::move(body));
  r.set("x-switchboard-tokens-source", std::string(source));
  r.set("x-switchboard-model", std::string(model));
  return r;
}

// The estimate: the request's messages, tools and images read as chat (api::ChatRequest).
Result<std::int64_t> estimate(const CountRequest& m) {
  auto chat = api::parse_chat_request(m.chat_body);
  if (!chat) return chat.error();
  if (chat->has_files)
    return make_error(ErrorKind::kBadRequest, "invalid_request",
                      "cannot count this request here: a file (a PDF, ...) is not estimated; a "
                      "model (not a route) with a replica up that speaks this API counts it");
  return chat->estimated_prompt_tokens;  // tools and images included
}

// A replica of `m` that speaks `api` and may take a request now, or null.
Replica* native_replica(const ModelRuntime& m, std::string_view api) {
  const std::int64_t now = pool::steady_ms();
  for (std::size_t i = 0; i < m.replicas.size(); ++i)
    if (m.apis[i] && m.apis[i]->name() == api && pool::available(*m.replicas[i], now))
      return m.replicas[i].get();
  return nullptr;
}

}  // namespace

http::Response token_count_error(const TokenCountApi& api, const Error& e) {
  return api.error(e);
}

const TokenCountApi* token_count_api(std::string_view path) {
  if (path == kAnthropicCount.upstream_path) return &kAnthropicCount;
  if (path == kResponsesCount.upstream_path) return &kResponsesCount;
  return nullptr;
}

asio::awaitable<void> Gateway::count_tokens(http::Exchange& ex, const TokenCountApi& api) {
  Worker& worker = *workers_[ex.worker()];
  const std::shared_ptr<Runtime> runtime = runtime_for(worker);
  std::optional<Error> refusal;
  std::optional<CountRequest> request;
  if (ex.read_error()) {
    refusal = *ex.read_error();
  } else if (auto who = caller(ex); !who) {
    refusal = who.error();
  } else if (auto held = ex.hold_memory(api::json_values(ex.request().body()) *
                                        (kTranslatedBytesPerValue + kParsedBytesPerValue))) {
    // Counting translates the body and parses the translation, as serving it would.
    refusal = std::move(held);
  } else if (auto parsed = api.parse(ex.request().body()); !parsed) {
    refusal = parsed.error();
  } else {
    request = std::move(*parsed);
    const bool is_route = runtime->find_route(request->model) != nullptr;
    if (request->model.empty()) {
      // Nothing named: estimated, whatever the key may use.
    } else if (!is_route && !runtime->find_model(request->model) &&
               !runtime->config->find_adapter_model(request->model)) {
      refusal = make_error(ErrorKind::kNotFound, "model_not_found",
                           "model: unknown model or route '" + request->model.substr(0, 256) +
                               "' (GET /v1/models lists them)");
    } else if (who->key && !who->key->key.may_name(request->model, is_route)) {
      refusal = make_error(ErrorKind::kForbidden, "model_not_allowed",
                           "key '" + who->key->key.name + "' may not use " +
                               (is_route ? "route" : "model") + " '" + request->model + "'");
    }
  }
  if (refusal) {
    http::Response r = api.error(*refusal);
    co_return (void) co_await ex.respond(std::move(r));
  }

  // Asked of a native replica of the named model, when it has one up.
  const ModelRuntime* model = runtime->find_model(request->model);
  if (Replica* replica = model ? native_replica(*model, api.native_api) : nullptr) {
    const auto& rc = *replica->config;
    const std::string body = api::rewrite_model(
        request->native_body ? std::string_view(*request->native_body) : ex.request().body(),
        rc.upstream_model.empty() ? model->config->name : rc.upstream_model);
    const auto deadline = std::chrono::steady_clock::now() + model->config->timeout;
    std::vector<std::pair<std::string_view, std::string_view>> passed;
    for (const auto& field : ex.request())
      if (ascii_iequals(field.name_string(), "anthropic-beta"))
        passed.emplace_back("anthropic-beta", field.value());
    ModelCall call{model->config->name,
                   replica,
                   api.upstream_path,
                   body,
                   model->authorization[replica->ordinal],
                   false,
                   deadline,
                   model->upstream_headers[replica->ordinal]};
    call.connect_timeout = model->config->connect_timeout;
    // As for /v1/messages: the client's anthropic-beta, when the replica lets it through.
    if (api.native_api == "anthropic" && rc.pass_anthropic_beta) call.client_headers = passed;
    auto started = co_await upstream_of(worker).start(call);
    // A replica without the endpoint (404, 405, 501: many servers of the Responses API have
    // none) is estimated for, as one not reached or cut off is.
    const unsigned status = started ? (*started)->status() : 0;
    if (started && status != 404 && status != 405 && status != 501) {
      auto whole = co_await (*started)->read_all(kMaxCountAnswer, deadline);
      if (whole) {
        http::Response r = counted(std::move(*whole), "upstream", request->model, status);
        co_return (void) co_await ex.respond(std::move(r));
      }
    }
  }

  std::optional<Error> failed;
  std::int64_t tokens = 0;
  if (!request->native_only.empty()) {
    failed = make_error(ErrorKind::kBadRequest, "invalid_request",
                        "cannot count this request here: " + request->native_only + " (and no " +
                            std::string(api.native_api) + " replica of '" +
                            request->model.substr(0, 256) + "' is up to count it)");
  } else if (auto n = estimate(*request); !n) {
    failed = n.error();
  } else {
    tokens = *n;
  }
  http::Response r =
      failed ? api.error(*failed) : counted(api.answer(tokens), "estimated", request->model);
  co_await ex.respond(std::move(r));
}

}  // namespace switchboard::pipeline
