// The dashboard (web/, docs/admin.md): GET / redirects to /dashboard/, GET /dashboard/{file} serves
// the files built into the binary (admin/assets.h). They are served without the admin key (they
// hold no data); the page asks for the key and sends it with every API call.
#include "admin/admin_services.h"
#include "admin/assets.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

http::Response serve(std::string_view path) {
  if (path.empty()) path = "index.html";
  const Asset* a = find_asset(path);
  if (!a)
    return error_response(make_error(ErrorKind::kNotFound, "not_found",
                                     "no dashboard file '" + std::string(path) + "'"));
  http::Response r{http::bhttp::status::ok, 11};
  r.set(http::bhttp::field::content_type, a->content_type);
  r.set(http::bhttp::field::cache_control, "no-cache");
  r.set("x-content-type-options", "nosniff");
  if (a->content_type.starts_with("text/html"))
    r.set("content-security-policy",
          "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "frame-ancestors 'none'");
  r.body() = std::string(a->bytes);
  return r;
}

const AdminRouteRegistrar kDashboard("dashboard", [](AdminRoutes& routes, AdminServices&) {
  auto redirect = [](AdminRequest&) -> asio::awaitable<http::Response> {
    http::Response r{http::bhttp::status::found, 11};
    r.set(http::bhttp::field::location, "/dashboard/");
    co_return r;
  };
  routes.add(verb::get, "/", redirect, true);
  routes.add(verb::get, "/dashboard", redirect, true);
  routes.add(
      verb::get, "/dashboard/",
      [](AdminRequest&) -> asio::awaitable<http::Response> { co_return serve(""); }, true);
  routes.add_prefix(
      verb::get, "/dashboard/",
      [](AdminRequest& req) -> asio::awaitable<http::Response> { co_return serve(req.rest); },
      true);
});

}  // namespace
}  // namespace switchboard::admin
