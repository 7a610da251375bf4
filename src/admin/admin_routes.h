// The admin listener's routes (docs/admin.md): a table of handlers by method and path, filled by
// named installers that each module registers in its own file, so that a new admin feature (API key
// management, say) adds a file in src/admin/routes/ and touches nothing central:
//
//   const AdminRouteRegistrar kKeys("keys", [](AdminRoutes& routes, AdminServices& services) {
//     routes.add(verb::get, "/admin/keys", [&services](AdminRequest& req) -> awaitable<Response>
//     {...}); routes.add(verb::post, "/admin/keys", ...); routes.add_prefix(verb::delete_,
//     "/admin/keys/", ...);  // req.rest = the id
//   });
//
// Every installer registered runs once when the admin listener starts (in name order). Handlers run
// on the admin listener's own thread (never a gateway worker); blocking work (SQLite, a reload)
// goes through AdminServices::blocking(). Authentication (the bearer admin key) is checked by the
// server before any handler runs, except for routes added with `open = true` (the dashboard's
// static files, which carry no data).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/query_string.h"
#include "http/server.h"
#include "switchboard/registry.h"

namespace switchboard::admin {

namespace asio = boost::asio;
struct AdminServices;

struct AdminRequest {
  http::Request& http;
  std::string_view path;  // the target without the query
  std::string_view rest;  // for a prefix route: what follows the prefix
  std::map<std::string, std::string, std::less<>> query;  // decoded query parameters

  // The parameter or "" when absent.
  std::string_view param(std::string_view name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string_view{} : std::string_view(it->second);
  }
};

using AdminHandler = std::function<asio::awaitable<http::Response>(AdminRequest&)>;

class AdminRoutes {
 public:
  // An exact path. `open`: served without the admin key.
  void add(http::bhttp::verb method, std::string path, AdminHandler handler, bool open = false);
  // Every path starting with `prefix` (AdminRequest::rest is the remainder; never empty).
  void add_prefix(http::bhttp::verb method, std::string prefix, AdminHandler handler,
                  bool open = false);

  struct Match {
    const AdminHandler* handler = nullptr;  // null: no route for this method (see path_known)
    std::string_view rest;
    bool open = false;
    bool path_known = false;  // some method has this path (405 rather than 404)
  };
  Match find(http::bhttp::verb method, std::string_view path) const;
  // "GET /admin/config", ... for the index and the docs.
  std::vector<std::string> describe() const;

 private:
  struct Route {
    http::bhttp::verb method;
    std::string path;
    bool prefix;
    bool open;
    AdminHandler handler;
  };
  std::vector<Route> routes_;
};

// A module's routes: installed into the table when the admin listener starts.
using AdminRouteInstaller = std::function<void(AdminRoutes&, AdminServices&)>;
using AdminRouteRegistry = Registry<AdminRouteInstaller>;
using AdminRouteRegistrar = Registrar<AdminRouteInstaller>;

// JSON responses in the admin API's shape; errors are OpenAI-shaped like the public API's.
http::Response json_response(unsigned status, std::string body);
http::Response error_response(const Error& e);

}  // namespace switchboard::admin
