#include "pipeline/gateway.h"

#include <nlohmann/json.hpp>

#include "api/chat_request.h"
#include "api/errors.h"
#include "pipeline/embedding_step.h"
#include "pipeline/explain.h"
#include "pipeline/replica_monitor.h"
#include "pipeline/routing_headers.h"
#include "pool/health.h"
#include "signals/signals_json.h"

namespace switchboard::pipeline {

using asio::awaitable;

namespace {

http::Response json_response(unsigned status, std::string body) {
  http::Response r{static_cast<http::bhttp::status>(status), 11};
  r.set(http::bhttp::field::content_type, "application/json");
  r.body() = std::move(body);
  return r;
}

http::Response error_response(const Error& e) { return json_response(http_status(e.kind), api::error_json(e)); }

}  // namespace

Gateway::Gateway(std::unique_ptr<Runtime> runtime, std::unique_ptr<store::DecisionStore> store)
    : runtime_(std::move(runtime)), store_(std::move(store)), tls_(http::make_client_tls_context()) {
  metrics_.before_render = [this] {
    for (const auto& [name, model] : runtime_->models) {
      const std::int64_t now = pool::steady_ms();
      for (const auto& r : model.replicas) {
        metrics_.replica_in_flight.with({name, r->config->id}).set(r->in_flight.load());
        metrics_.replica_available.with({name, r->config->id}).set(pool::available(*r, now) ? 1 : 0);
      }
    }
    metrics_.decisions_dropped_total_set(store_->dropped());
  };
}

Gateway::~Gateway() = default;

void Gateway::attach(http::Server& server) {
  server_ = &server;
  clients_.clear();
  for (unsigned i = 0; i < server.threads(); ++i)
    clients_.push_back(std::make_shared<http::UpstreamClient>(server.context(i), *tls_));
  // Health checks and load scrapes of every replica run on the first worker's io_context.
  start_replica_monitors(server.context(0), *tls_, *runtime_);
}

void Gateway::detach() {
  clients_.clear();
  server_ = nullptr;
}

awaitable<void> Gateway::handle(http::Exchange& ex) {
  auto& req = ex.request();
  std::string_view target = req.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  const auto method = req.method();
  using http::bhttp::verb;

  if (target == "/v1/chat/completions") {
    if (method == verb::post) co_return co_await chat(ex);
  } else if (target == "/v1/route") {
    if (method == verb::post) co_return co_await explain_route(ex);
  } else if (target == "/v1/models") {
    if (method == verb::get) co_return co_await models(ex);
  } else if (target.starts_with("/v1/decisions/")) {
    if (method == verb::get) co_return co_await decision(ex, target.substr(std::string_view("/v1/decisions/").size()));
  } else if (target == "/healthz") {
    if (method == verb::get) co_return (void)co_await ex.respond(json_response(200, R"({"status":"ok"})"));
  } else if (target == "/readyz") {
    if (method == verb::get) {
      bool draining = server_ && server_->draining();
      co_return (void)co_await ex.respond(draining ? json_response(503, R"({"status":"draining"})")
                                                   : json_response(200, R"({"status":"ready"})"));
    }
  } else if (target == "/metrics") {
    if (method == verb::get) {
      http::Response r{http::bhttp::status::ok, 11};
      r.set(http::bhttp::field::content_type, "text/plain; version=0.0.4");
      r.body() = metrics_.render();
      co_return (void)co_await ex.respond(std::move(r));
    }
  } else {
    if (ex.read_error()) co_return (void)co_await ex.respond(error_response(*ex.read_error()));
    co_return (void)co_await ex.respond(error_response(make_error(
        ErrorKind::kNotFound, "not_found", "no such endpoint: " + std::string(req.method_string()) + " " +
                                               std::string(target))));
  }
  if (ex.read_error()) co_return (void)co_await ex.respond(error_response(*ex.read_error()));
  co_return (void)co_await ex.respond(error_response(make_error(
      ErrorKind::kMethodNotAllowed, "method_not_allowed",
      std::string(req.method_string()) + " is not allowed on " + std::string(target))));
}

awaitable<void> Gateway::explain_route(http::Exchange& ex) {
  if (ex.read_error()) co_return (void)co_await ex.respond(error_response(*ex.read_error()));
  auto req = api::parse_chat_request(ex.request().body());
  if (!req) co_return (void)co_await ex.respond(error_response(req.error()));
  RouteRequest rr = route_request(*req);
  if (auto bad = apply_routing_headers(ex.request(), rr)) co_return (void)co_await ex.respond(error_response(*bad));
  Signals signals = runtime_->signals_for(*req);
  std::string embed_note = co_await add_http_embedding(*runtime_, *clients_[ex.worker()], metrics_, *req, signals);
  auto decision = runtime_->decide(req->model, rr, signals);
  if (!decision) co_return (void)co_await ex.respond(error_response(decision.error()));
  decision->reason += embed_note;
  nlohmann::json body = decision_json(*decision);
  body["route"] = req->model;
  body["signals"] = signals::signals_json(signals);
  co_await ex.respond(json_response(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

awaitable<void> Gateway::models(http::Exchange& ex) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : runtime_->config->models) {
    data.push_back({{"id", m.name}, {"object", "model"}, {"created", 0}, {"owned_by", "switchboard"}});
  }
  // LoRA adapters as vLLM lists them: their own id, the base model as parent.
  for (const auto& m : runtime_->config->models) {
    for (const auto& a : m.pool.adapters)
      data.push_back({{"id", a}, {"object", "model"}, {"created", 0}, {"owned_by", "switchboard"},
                      {"parent", m.name}, {"root", m.name}});
  }
  for (const auto& r : runtime_->config->routes) {
    data.push_back({{"id", r.name}, {"object", "model"}, {"created", 0}, {"owned_by", "switchboard-route"},
                    {"policy", r.policy_type}});
  }
  nlohmann::json body = {{"object", "list"}, {"data", data}};
  co_await ex.respond(json_response(200, body.dump()));
}

awaitable<void> Gateway::decision(http::Exchange& ex, std::string_view id) {
  auto record = store_->find(std::string(id));
  if (!record) {
    co_await ex.respond(error_response(
        make_error(ErrorKind::kNotFound, "decision_not_found", "no decision with id '" + std::string(id) + "'")));
    co_return;
  }
  co_await ex.respond(json_response(200, record->to_json().dump(-1, ' ', false,
                                                                nlohmann::json::error_handler_t::replace)));
}

}  // namespace switchboard::pipeline
