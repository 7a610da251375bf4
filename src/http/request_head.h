// What the server makes of a request's head before it reads the body (http/server.cc), as pure
// functions (fuzzed with the parser in fuzz/http_request_fuzz.cc):
//  - origin_form(): an absolute-form target (`POST http://host/v1/chat/completions`, as proxies
//    send it) is served as its path and query (RFC 9112 3.2.2: servers must accept it); other
//    targets are returned as they are;
//  - unframed_body(): a Transfer-Encoding whose last coding is not `chunked` leaves the body's end
//    unknown (RFC 9112 6.3): the request is refused (400 bad_http) and the connection closed, since
//    reading on would take the body's bytes for the next request;
//  - host_error(): an HTTP/1.1 request without a Host header, or with more than one, is refused
//    (400 bad_http, RFC 9112 3.2: a server must), as nginx does; HTTP/1.0 needs none.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::http {

std::string origin_form(std::string_view target);

// The error for a head with a Transfer-Encoding the parser did not take as chunked (`chunked` is
// what the parser found), or nullopt.
std::optional<Error> unframed_body(const boost::beast::http::fields& head, bool chunked);

// The error for an HTTP/1.1 head (`version` 11) without exactly one Host header, or nullopt.
std::optional<Error> host_error(const boost::beast::http::fields& head, unsigned version);

}  // namespace switchboard::http
