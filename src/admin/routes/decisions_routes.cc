// GET /admin/decisions: search the decision records (store/decision_query.h), newest first, a page
// at a time. Parameters: id (prefix), route, model, outcome, status, key, since, until (unix ms),
// before (the `next` cursor of the previous page: a decision id), limit (1..500, default 50). Bad
// parameters, and parameters not in this list, are answered 400 `invalid_request` naming them.
//
// GET /admin/decisions/{id}: one record, whole (stages with timings, candidates with predicted
// quality and cost, attempts, calls, guard, cache, reason) — from the store's queue when it was
// not written yet, else from SQLite.
#include <algorithm>
#include <charconv>

#include "admin/admin_services.h"
#include "store/decision_query.h"
#include "store/record_codec.h"

namespace switchboard::admin {
namespace {
using http::bhttp::verb;

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Error bad_param(std::string_view name, std::string_view value) {
  return make_error(
      ErrorKind::kBadRequest, "invalid_request",
      "query parameter '" + std::string(name) + "' is not valid: '" + std::string(value) + "'");
}

Result<store::DecisionQuery> query_of(const AdminRequest& req) {
  // A parameter not known is refused (a typo such as `limt=5` was ignored: a whole default page).
  static constexpr std::string_view kKnown[] = {"id",     "route", "model", "outcome", "key",
                                                "before", "status", "since", "until", "limit"};
  for (const auto& [name, value] : req.query)
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown))
      return make_error(ErrorKind::kBadRequest, "invalid_request",
                        "unknown query parameter '" + name.substr(0, 64) +
                            "' (known: id, route, model, outcome, key, before, status, since, "
                            "until, limit)");
  store::DecisionQuery q;
  q.id = req.param("id");
  q.route = req.param("route");
  q.model = req.param("model");
  q.outcome = req.param("outcome");
  q.key = req.param("key");
  q.before = req.param("before");
  // The cursor is a decision id (the previous page's `next`); anything else started the search
  // from an arbitrary place.
  if (!q.before.empty() && store::id_time_ms(q.before) < 0) return bad_param("before", q.before);
  for (const char* name : {"status", "since", "until", "limit"}) {
    const auto v = req.param(name);
    if (v.empty()) continue;
    const auto n = number<std::int64_t>(v);
    if (!n || *n < 0) return bad_param(name, v);
    if (std::string_view(name) == "status") {
      if (*n < 100 || *n > 599) return bad_param(name, v);  // (was cast to int unchecked)
      q.status = static_cast<int>(*n);
    }
    if (std::string_view(name) == "since") q.since_ms = *n;
    if (std::string_view(name) == "until") q.until_ms = *n;
    if (std::string_view(name) == "limit") {
      if (*n < 1 || *n > 500) return bad_param(name, v);
      q.limit = static_cast<int>(*n);
    }
  }
  return q;
}

const AdminRouteRegistrar kDecisions("decisions", [](AdminRoutes& routes, AdminServices& s) {
  routes.add(verb::get, "/admin/decisions",
             [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
               auto q = query_of(req);
               if (!q) co_return error_response(q.error());
               const std::string path = s.gateway.decisions().path();
               const store::DecisionQuery& query = *q;
               const std::function<Result<nlohmann::json>()> work = [&] {
                 return store::search_decisions(path, query);
               };
               Result<nlohmann::json> found = co_await blocking(s.pool, &work);
               if (!found) co_return error_response(found.error());
               co_return json_response(
                   200, found->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
             });
  routes.add_prefix(
      verb::get, "/admin/decisions/", [&s](AdminRequest& req) -> asio::awaitable<http::Response> {
        const std::string id(req.rest);
        auto& store = s.gateway.decisions();
        std::optional<store::DecisionRecord> record = store.find_pending(id);
        if (!record) {
          const std::function<std::optional<store::DecisionRecord>()> work = [&] {
            return store.find_stored(id);
          };
          record = co_await blocking(s.pool, &work);
        }
        if (!record)
          co_return error_response(make_error(ErrorKind::kNotFound, "decision_not_found",
                                              "no decision with id '" + id + "'"));
        co_return json_response(
            200, record->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      });
});

}  // namespace
}  // namespace switchboard::admin
