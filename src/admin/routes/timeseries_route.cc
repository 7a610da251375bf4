// GET /admin/api/timeseries?seconds=300&step=5: the dashboard's live figures from the in-memory
// ring (admin/timeseries.h): request rate, error rate, latency percentiles, cache hit rate, spend
// per model, route and key over time, and the model mix per route.
#include <charconv>
#include <chrono>

#include "admin/admin_services.h"
#include "core/wall_clock.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

// A whole number of seconds in [1, 86400], `fallback` when absent; an error naming the parameter
// otherwise (not silently the default).
Result<std::size_t> param(const AdminRequest& req, std::string_view name, std::size_t fallback) {
  const auto v = req.param(name);
  if (v.empty()) return fallback;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n == 0 || n > 86'400)
    return make_error(ErrorKind::kBadRequest, "invalid_request",
                      "query parameter '" + std::string(name) + "' must be a whole number of "
                      "seconds from 1 to 86400, got '" + std::string(v) + "'");
  return n;
}

const AdminRouteRegistrar kTimeseries("timeseries", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::get, "/admin/api/timeseries",
             [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
               const auto now = unix_seconds();
               const auto seconds = param(req, "seconds", 300), step = param(req, "step", 5);
               if (!seconds) co_return error_response(seconds.error());
               if (!step) co_return error_response(step.error());
               auto body = s.timeseries.snapshot(now, *seconds, *step);
               co_return json_response(
                   200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
             });
});

}  // namespace
}  // namespace switchboard::admin
