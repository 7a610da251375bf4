#include "admin/admin_routes.h"

#include "api/errors.h"

namespace switchboard::admin {

void AdminRoutes::add(http::bhttp::verb method, std::string path, AdminHandler handler, bool open) {
  routes_.push_back({method, std::move(path), false, open, std::move(handler)});
}

void AdminRoutes::add_prefix(http::bhttp::verb method, std::string prefix, AdminHandler handler,
                             bool open) {
  routes_.push_back({method, std::move(prefix), true, open, std::move(handler)});
}

AdminRoutes::Match AdminRoutes::find(http::bhttp::verb method, std::string_view path) const {
  Match m;
  // Exact routes first, then the longest prefix.
  for (const auto& r : routes_) {
    if (r.prefix || r.path != path) continue;
    m.path_known = true;
    if (r.method == method) {
      m.handler = &r.handler;
      m.open = r.open;
      return m;
    }
  }
  std::size_t best = 0;
  for (const auto& r : routes_) {
    if (!r.prefix || path.size() <= r.path.size() || !path.starts_with(r.path)) continue;
    m.path_known = true;
    if (r.method == method && r.path.size() > best) {
      best = r.path.size();
      m.handler = &r.handler;
      m.open = r.open;
      m.rest = path.substr(r.path.size());
    }
  }
  return m;
}

std::vector<std::string> AdminRoutes::describe() const {
  std::vector<std::string> out;
  for (const auto& r : routes_)
    out.push_back(std::string(http::bhttp::to_string(r.method)) + " " + r.path +
                  (r.prefix ? "{...}" : ""));
  return out;
}

http::Response json_response(unsigned status, std::string body) {
  http::Response r{static_cast<http::bhttp::status>(status), 11};
  r.set(http::bhttp::field::content_type, "application/json");
  r.set(http::bhttp::field::cache_control, "no-store");
  r.set("x-content-type-options", "nosniff");
  r.body() = std::move(body);
  return r;
}

http::Response error_response(const Error& e) {
  return json_response(static_cast<unsigned>(http_status(e.kind)), api::error_json(e));
}

}  // namespace switchboard::admin
