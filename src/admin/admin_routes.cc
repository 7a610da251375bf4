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
  r.body() = std::move(body);
  return r;
}

http::Response error_response(const Error& e) {
  return json_response(static_cast<unsigned>(http_status(e.kind)), api::error_json(e));
}

namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

std::map<std::string, std::string, std::less<>> parse_query(std::string_view q) {
  std::map<std::string, std::string, std::less<>> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto key = decode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string() : decode(part.substr(eq + 1));
    out.insert_or_assign(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace switchboard::admin
