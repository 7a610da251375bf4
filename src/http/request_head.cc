#include "http/request_head.h"

#include "switchboard/ascii.h"

namespace switchboard::http {

std::string origin_form(std::string_view target) {
  // The scheme is case-insensitive (RFC 9110 4.2.3): HTTP://host/ is absolute-form too.
  auto scheme = [&](std::string_view s) {
    return target.size() >= s.size() && ascii_iequals(target.substr(0, s.size()), s);
  };
  if (!scheme("http://") && !scheme("https://")) return std::string(target);
  const auto authority = target.find("://") + 3;
  const auto path = target.find_first_of("/?", authority);
  if (path == std::string_view::npos) return "/";
  std::string origin(target.substr(path));
  if (origin.front() == '?') origin.insert(0, "/");
  return origin;
}

std::optional<Error> unframed_body(const boost::beast::http::fields& head, bool chunked) {
  const auto te = head.find(boost::beast::http::field::transfer_encoding);
  if (te == head.end() || chunked) return std::nullopt;
  return make_error(ErrorKind::kBadRequest, "bad_http",
                    "Transfer-Encoding '" + std::string(te->value()) +
                        "' does not end in chunked: the body's length is unknown");
}

std::optional<Error> host_error(const boost::beast::http::fields& head, unsigned version) {
  if (version < 11) return std::nullopt;
  const auto hosts = head.count(boost::beast::http::field::host);
  if (hosts == 1) return std::nullopt;
  return make_error(ErrorKind::kBadRequest, "bad_http",
                    hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                               : "an HTTP/1.1 request has one Host header, not " +
                                     std::to_string(hosts));
}

}  // namespace switchboard::http
