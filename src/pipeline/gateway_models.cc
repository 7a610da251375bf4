// GET /v1/models and GET /v1/models/{id}: the models, LoRA adapters and routes a client can name
// (pipeline/gateway.h, docs/apis.md). OpenAI's shape ({"object":"list","data":[{"id","object":
// "model","created","owned_by"}]}; one model alone), or — for a client that sends
// `anthropic-version`, as Anthropic's SDK does — Anthropic's ({"data":[{"type":"model","id",
// "display_name","created_at"}],"has_more","first_id","last_id"}, paged by `limit`, `after_id`,
// `before_id`; one model alone). The id in
// the path is percent-decoded (SDKs encode the '/' of names like "mistralai/mixtral-8x7b-chat").
// An unknown id is 404 model_not_found in the client's API's shape. Not behind API keys (as the
// list always was: names are not secrets; docs/keys.md).
#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "api/messages.h"
#include "core/query_string.h"
#include "pipeline/gateway.h"
#include "pipeline/json_responses.h"

namespace switchboard::pipeline {

namespace {

using json = nlohmann::json;

// Every name a client can send as `model`, in OpenAI's shape.
json model_objects(const Runtime& runtime) {
  const config::Config& config = *runtime.config;
  json data = json::array();
  for (const auto& m : config.models)
    data.push_back({{"id", m.name},
                    {"object", "model"},
                    {"created", runtime.loaded_at},
                    {"owned_by", "switchboard"}});
  // LoRA adapters as vLLM lists them: their own id, the base model as parent.
  for (const auto& m : config.models)
    for (const auto& a : m.pool.adapters)
      data.push_back({{"id", a},
                      {"object", "model"},
                      {"created", runtime.loaded_at},
                      {"owned_by", "switchboard"},
                      {"parent", m.name},
                      {"root", m.name}});
  for (const auto& r : config.routes) {
    json route = {{"id", r.name},
                  {"object", "model"},
                  {"created", runtime.loaded_at},
                  {"owned_by", "switchboard-route"},
                  {"policy", r.policy_type}};
    // The models its plans may call, when its policy says (Policy::models()).
    if (const RouteRuntime* rr = runtime.find_route(r.name); rr && !rr->models.empty()) {
      json models = json::array();
      for (const auto* m : rr->models) models.push_back(m->name);
      route["models"] = std::move(models);
    }
    data.push_back(std::move(route));
  }
  return data;
}

json anthropic_model(const json& m) {
  const std::string id = m["id"].get<std::string>();
  const std::time_t created = m["created"].get<std::int64_t>();
  std::tm tm{};
  gmtime_r(&created, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {{"type", "model"},
          {"id", id},
          {"display_name", m.contains("policy") ? "route " + id : id},
          {"created_at", when}};
}

// One page of Anthropic's list: `limit` 1-1000 (default 20), then the items after `after_id` or
// the `limit` items just before `before_id`.
Result<json> anthropic_page(const json& list,
                            const std::map<std::string, std::string, std::less<>>& query) {
  std::size_t limit = 20;
  if (auto it = query.find("limit"); it != query.end()) {
    const auto n = bounded_integer(it->second, 1, 1000);
    if (!n)
      return make_error(ErrorKind::kBadRequest, "invalid_request",
                        "limit: must be an integer from 1 to 1000, got '" +
                            it->second.substr(0, 64) + "'");
    limit = *n;
  }
  auto position = [&list](const std::string& id) -> Result<std::size_t> {
    for (std::size_t i = 0; i < list.size(); ++i)
      if (list[i]["id"] == id) return i;
    return make_error(ErrorKind::kBadRequest, "invalid_request",
                      "no model '" + id.substr(0, 256) + "' to page from");
  };
  std::size_t begin = 0, end = list.size();
  if (auto it = query.find("before_id"); it != query.end()) {
    auto at = position(it->second);
    if (!at) return at.error();
    end = *at;
    begin = end > limit ? end - limit : 0;
  } else if (auto after = query.find("after_id"); after != query.end()) {
    auto at = position(after->second);
    if (!at) return at.error();
    begin = *at + 1;
  }
  end = std::min(end, begin + limit);
  json data = json::array();
  for (std::size_t i = begin; i < end; ++i) data.push_back(list[i]);
  const bool before = query.contains("before_id");
  return json{{"data", data},
              {"has_more", before ? begin > 0 : end < list.size()},
              {"first_id", data.empty() ? json() : data.front()["id"]},
              {"last_id", data.empty() ? json() : data.back()["id"]}};
}

}  // namespace

asio::awaitable<void> Gateway::models(http::Exchange& ex, std::string_view raw_id) {
  const std::shared_ptr<Runtime> runtime = runtime_for(*workers_[ex.worker()]);
  const bool anthropic = ex.request().find("anthropic-version") != ex.request().end();
  json data = model_objects(*runtime);
  http::Response r;
  if (raw_id.empty()) {
    if (!anthropic) {
      r = json_response(200, json{{"object", "list"}, {"data", std::move(data)}}.dump());
    } else {
      json list = json::array();
      for (const json& m : data) list.push_back(anthropic_model(m));
      auto page = anthropic_page(list, parse_query(query_of(ex.request().target())));
      r = page ? json_response(200, page->dump())
               : json_response(400, api::anthropic_error_json(
                                        api::anthropic_error_type(page.error().kind),
                                        page.error().message));
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
