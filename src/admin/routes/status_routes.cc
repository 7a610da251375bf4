// GET /metrics (Prometheus, the gateway's metrics), GET /admin (the route index and the gateway's
// state), GET /admin/config (the running config, secrets masked: admin/config_mask.h).
#include <nlohmann/json.hpp>

#include "admin/admin_services.h"
#include "admin/config_mask.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

const AdminRouteRegistrar kStatus("status", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::get, "/metrics", [&s](AdminRequest&) -> asio::awaitable<http::Response> {
    http::Response r{http::bhttp::status::ok, 11};
    r.set(http::bhttp::field::content_type, "text/plain; version=0.0.4");
    r.set(http::bhttp::field::cache_control, "no-store");  // per-key spend
    r.set("x-content-type-options", "nosniff");
    r.body() = s.gateway.metrics().render();
    co_return r;
  });
  routes.add(verb::get, "/admin", [&s](AdminRequest&) -> asio::awaitable<http::Response> {
    nlohmann::json body = {
        {"endpoints", s.routes ? s.routes->describe() : std::vector<std::string>{}},
        {"config", s.reloader.path()},
        {"generation", s.reloader.generation()},
        {"reload_failures", s.reloader.failures()},
        {"loaded_at_ms", s.reloader.loaded_at_ms()},
        {"in_flight", s.gateway.metrics().in_flight.value()}};
    co_return json_response(200, body.dump());
  });
  routes.add(verb::get, "/admin/config", [&s](AdminRequest&) -> asio::awaitable<http::Response> {
    const auto cfg = s.reloader.config();
    nlohmann::json body = {{"source", s.reloader.path()},
                           {"generation", s.reloader.generation()},
                           {"loaded_at_ms", s.reloader.loaded_at_ms()},
                           {"config", masked_config_text(cfg->text)}};
    co_return json_response(200,
                            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
});

}  // namespace
}  // namespace switchboard::admin
