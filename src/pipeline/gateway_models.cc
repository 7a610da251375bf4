// GET /v1/models and GET /v1/models/{id}: the models, LoRA adapters and routes a client can name
// (pipeline/gateway.h, docs/apis.md). OpenAI's shape ({"object":"list","data":[{"id","object":
// "model","created","owned_by"}]}; one model alone), or — for a client that sends
// `anthropic-version`, as Anthropic's SDK does — Anthropic's ({"data":[{"type":"model","id",
// "display_name","created_at"}],"has_more","first_id","last_id"}; one model alone). The id in
// the path is percent-decoded (SDKs encode the '/' of names like "mistralai/mixtral-8x7b-chat").
// An unknown id is 404 model_not_found in the client's API's shape. Not behind API keys (as the
// list always was: names are not secrets; docs/keys.md).
#include <nlohmann/json.hpp>

#include "api/messages.h"
#include "core/query_string.h"
#include "pipeline/gateway.h"
#include "pipeline/json_responses.h"

namespace switchboard::pipeline {

namespace {

using json = nlohmann::json;

// Every name a client can send as `model`, in OpenAI's shape.
json model_objects(const config::Config& config) {
  json data = json::array();
  for (const auto& m : config.models)
    data.push_back({{"id", m.name}, {"object", "model"}, {"created", 0}, {"owned_by", "switchboard"}});
  // LoRA adapters as vLLM lists them: their own id, the base model as parent.
  for (const auto& m : config.models)
    for (const auto& a : m.pool.adapters)
      data.push_back({{"id", a},
                      {"object", "model"},
                      {"created", 0},
                      {"owned_by", "switchboard"},
                      {"parent", m.name},
                      {"root", m.name}});
  for (const auto& r : config.routes)
    data.push_back({{"id", r.name},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "switchboard-route"},
                    {"policy", r.policy_type}});
  return data;
}

json anthropic_model(const json& m) {
  const std::string id = m["id"].get<std::string>();
  return {{"type", "model"},
          {"id", id},
          {"display_name", m.contains("policy") ? "route " + id : id},
          {"created_at", "1970-01-01T00:00:00Z"}};
}

}  // namespace

asio::awaitable<void> Gateway::models(http::Exchange& ex, std::string_view raw_id) {
  const std::shared_ptr<Runtime> runtime = runtime_for(*workers_[ex.worker()]);
  const bool anthropic = ex.request().find("anthropic-version") != ex.request().end();
  json data = model_objects(*runtime->config);
  http::Response r;
  if (raw_id.empty()) {
    if (!anthropic) {
      r = json_response(200, json{{"object", "list"}, {"data", std::move(data)}}.dump());
    } else {
      json list = json::array();
      for (const json& m : data) list.push_back(anthropic_model(m));
      json body = {{"data", list},
                   {"has_more", false},
                   {"first_id", list.empty() ? json() : list.front()["id"]},
                   {"last_id", list.empty() ? json() : list.back()["id"]}};
      r = json_response(200, body.dump());
    }
    co_return (void) co_await ex.respond(std::move(r));
  }
  const std::string id = percent_decode(raw_id, /*plus_is_space=*/false);
  const json* found = nullptr;
  for (const json& m : data)
    if (m["id"] == id) found = &m;
  if (found) {
    r = json_response(200, anthropic ? anthropic_model(*found).dump() : found->dump());
  } else {
    const Error e = make_error(ErrorKind::kNotFound, "model_not_found",
                               "The model '" + id.substr(0, 256) +
                                   "' does not exist; GET /v1/models lists the models and routes");
    r = anthropic ? json_response(404, api::anthropic_error_json(
                                           api::anthropic_error_type(e.kind), e.message))
                  : error_response(e);
  }
  co_await ex.respond(std::move(r));
}

}  // namespace switchboard::pipeline
