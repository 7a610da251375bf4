// GET /admin/api/timeseries?seconds=300&step=5: the dashboard's live figures from the in-memory
// ring (admin/timeseries.h): request rate, error rate, latency percentiles, cache hit rate, spend
// per model, route and key over time, and the model mix per route.
#include <charconv>
#include <chrono>

#include "admin/admin_services.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

std::size_t param(const AdminRequest& req, std::string_view name, std::size_t fallback) {
  const auto v = req.param(name);
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return v.empty() || ec != std::errc() || end != v.data() + v.size() || n == 0 ? fallback : n;
}

const AdminRouteRegistrar kTimeseries("timeseries", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::get, "/admin/api/timeseries",
             [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
               const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
               auto body =
                   s.timeseries.snapshot(now, param(req, "seconds", 300), param(req, "step", 5));
               co_return json_response(
                   200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
             });
});

}  // namespace
}  // namespace switchboard::admin
