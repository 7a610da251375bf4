// POST /admin/feedback: the public listener's POST /v1/feedback on the admin listener (for a
// deployment whose feedback comes from a trusted back office rather than from clients), the same
// code and answers (pipeline::Gateway::feedback_blocking, docs/online.md), run on the admin pool.
#include "admin/admin_services.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

const AdminRouteRegistrar kFeedback("feedback", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::post, "/admin/feedback",
             [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
               const std::string* body = &req.http.body();
               const std::function<http::Response()> work = [&s, body] {
                 return s.gateway.feedback_blocking(*body);
               };
               http::Response r = co_await blocking(s.pool, &work);
               co_return r;
             });
});

}  // namespace
}  // namespace switchboard::admin
