#include "admin/browser_guard.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

namespace switchboard::admin {
namespace {

namespace bhttp = http::bhttp;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

std::string_view header(const http::RequestHead& r, bhttp::field f) {
  auto it = r.find(f);
  return it == r.end() ? std::string_view() : std::string_view(it->value());
}

bool changes_state(bhttp::verb v) {
  return v != bhttp::verb::get && v != bhttp::verb::head && v != bhttp::verb::options;
}

Error forbidden(const char* code, const std::string& message) {
  return make_error(ErrorKind::kForbidden, code, message);
}

}  // namespace

std::string authority_host(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return lower(authority.substr(1, close == std::string_view::npos ? std::string_view::npos
                                                                        : close - 1));
  }
  const auto colon = authority.rfind(':');
  return lower(colon == std::string_view::npos ? authority : authority.substr(0, colon));
}

// A browser marks its requests (every current one sends Sec-Fetch-* on each request, and Origin
// on cross-origin and state-changing ones); tools (curl, Prometheus, scripts) send neither.
bool from_a_browser(const http::RequestHead& r) {
  return r.find(bhttp::field::sec_fetch_site) != r.end() ||
         r.find(bhttp::field::sec_fetch_mode) != r.end() ||
         r.find(bhttp::field::sec_fetch_dest) != r.end() || r.find(bhttp::field::origin) != r.end();
}

std::optional<Error> browser_refusal(const http::RequestHead& request,
                                     const std::vector<std::string>& allowed_hosts) {
  if (!from_a_browser(request)) return std::nullopt;
  const std::string_view host_header = header(request, bhttp::field::host);
  if (!host_header.empty()) {
    std::string host = authority_host(host_header);
    if (!host.empty() && host.back() == '.') host.pop_back();  // "localhost." is localhost
    const bool allowed =
        is_ip_address(host) || host == "localhost" || ends_with(host, ".localhost") ||
        std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                    [&](const std::string& a) { return lower(a) == host; });
    if (!allowed)
      return forbidden("host_not_allowed",
                       "the admin listener has no key, so it answers only requests addressed to "
                       "an IP address or localhost; Host '" + std::string(host_header) +
                           "' is neither (list it in admin.allowed_hosts, or set admin.key_env)");
  }
  if (!changes_state(request.method())) return std::nullopt;
  const std::string site = lower(header(request, bhttp::field::sec_fetch_site));
  if (!site.empty()) {
    if (site == "same-origin" || site == "none") return std::nullopt;
    return forbidden("cross_site_request",
                     "the admin listener has no key and refuses changes sent by a page of "
                     "another site (Sec-Fetch-Site: " + site + "); set admin.key_env to allow them");
  }
  const std::string_view origin = header(request, bhttp::field::origin);
  if (origin.empty()) return std::nullopt;
  const auto scheme_end = origin.find("://");
  const std::string_view origin_authority =
      scheme_end == std::string_view::npos ? std::string_view() : origin.substr(scheme_end + 3);
  if (!origin_authority.empty() && lower(origin_authority) == lower(host_header))
    return std::nullopt;
  return forbidden("cross_site_request",
                   "the admin listener has no key and refuses changes sent by a page of another "
                   "site (Origin: " + std::string(origin) + "); set admin.key_env to allow them");
}

}  // namespace switchboard::admin
