// POST /admin/reload: the config file read again, validated, swapped in (admin/reloader.h). 200
// with what changed, or 400 `bad_config` with FILE:LINE:COLUMN (the running config keeps serving).
#include "admin/admin_services.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

const AdminRouteRegistrar kReload("reload", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::post, "/admin/reload", [&s](AdminRequest&) -> asio::awaitable<http::Response> {
    const std::function<Result<nlohmann::json>()> work = [&s] { return s.reloader.reload("api"); };
    Result<nlohmann::json> done = co_await blocking(s.pool, &work);
    if (!done) co_return error_response(done.error());
    co_return json_response(200, done->dump());
  });
});

}  // namespace
}  // namespace switchboard::admin
