// What a client sends the gateway — untrusted bytes — read the way the server reads a request
// (http/server.cc, Server::session): a bhttp::request_parser<http::ArrivingBody> fed the bytes as
// they arrive (in pieces of a size the input picks), the head first (header limit, no body limit),
// then the head's checks (http/request_head.h: an absolute-form target to origin-form, a
// Transfer-Encoding not ending in chunked or an HTTP/1.1 head without exactly one Host refused),
// then the body under its limit, counted as it grows. Compared with Beast's own request_parser<string_body> fed the whole wire at once
// (differential):
//  - no crash or UB, whatever the bytes;
//  - the two agree on whether a request was read whole, and then on its method, target and body;
//  - the body never outgrows its limit, the counted size never shrinks, an origin-form target is a
//    path ("/..."), and a refused Transfer-Encoding is present and not taken as chunked.
// The first byte picks the arrival piece size; the rest is the wire.
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_wire.h"
#include "http/arriving_body.h"
#include "http/request_head.h"

namespace {

namespace bhttp = boost::beast::http;
using switchboard::http::ArrivingBody;

constexpr std::uint32_t kHeaderLimit = 8192;
constexpr std::uint64_t kBodyLimit = 1 << 16;

struct Read {
  bool whole = false;      // a request, head and body, without error
  bool refused = false;    // the head's checks refused it (unframed body)
  bool too_large = false;  // a declared length over the body limit
  std::string method, target, body;
};

using fuzz_wire::read_some;
using fuzz_wire::Wire;

Read ours(std::string_view bytes, std::size_t piece) {
  Read out;
  Wire wire(bytes, piece);
  std::string buffer;
  bhttp::request_parser<ArrivingBody> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);
  while (!parser.is_header_done())
    if (read_some(wire, buffer, parser)) return out;
  parser.body_limit(kBodyLimit);
  // As the server: a declared length over the limit is refused (413) before a byte of the body.
  if (parser.content_length() && *parser.content_length() > kBodyLimit) {
    out.too_large = true;
    return out;
  }
  const std::string target = switchboard::http::origin_form(parser.get().target());
  if (std::string_view(parser.get().target()).starts_with("http://") ||
      std::string_view(parser.get().target()).starts_with("HTTPS://"))
    FUZZ_CHECK(!target.empty() && target.front() == '/');
  if (switchboard::http::unframed_body(parser.get().base(), parser.chunked())) {
    FUZZ_CHECK(parser.get().find(bhttp::field::transfer_encoding) != parser.get().end());
    FUZZ_CHECK(!parser.chunked());
    out.refused = true;
    return out;
  }
  if (switchboard::http::host_error(parser.get().base(), parser.get().version())) {
    FUZZ_CHECK(parser.get().version() >= 11);
    FUZZ_CHECK(parser.get().count(bhttp::field::host) != 1);
    out.refused = true;
    return out;
  }
  parser.eager(true);
  std::size_t counted = 0;
  while (!parser.is_done()) {
    if (read_some(wire, buffer, parser)) return out;
    const std::size_t size = parser.get().body().size();
    FUZZ_CHECK(size >= counted);
    FUZZ_CHECK(size <= kBodyLimit);
    counted = size;
  }
  out.whole = true;
  out.method = std::string(parser.get().method_string());
  out.target = target;
  out.body = parser.get().body();
  return out;
}

Read reference(std::string_view bytes) {
  Read out;
  bhttp::request_parser<bhttp::string_body> p;
  p.header_limit(kHeaderLimit);
  // string_body reserves a declared length at the head (what http::ArrivingBody does not): a
  // length past the wire cannot be read whole anyway, so this limit changes no verdict and keeps
  // a lying length from allocating gigabytes here.
  p.body_limit(std::max<std::uint64_t>(bytes.size(), kBodyLimit + 1));
  boost::system::error_code ec;
  std::string_view rest = bytes;
  bool head_checked = false;
  while (!p.is_done()) {
    const std::size_t n =
        rest.empty() ? 0 : p.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(n);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec == bhttp::error::body_limit && !head_checked) {  // the head's length: over kBodyLimit
      out.too_large = true;
      return out;
    }
    if (ec) return out;
    if (p.is_header_done() && !head_checked) {
      head_checked = true;
      if (p.content_length() && *p.content_length() > kBodyLimit) {
        out.too_large = true;
        return out;
      }
      if (switchboard::http::unframed_body(p.get().base(), p.chunked()) ||
          switchboard::http::host_error(p.get().base(), p.get().version())) {
        out.refused = true;
        return out;
      }
      p.body_limit(kBodyLimit);
      p.eager(true);
      continue;
    }
    if (n == 0) {
      if (!p.got_some()) return out;
      p.put_eof(ec);
      if (ec || !p.is_done()) return out;
      break;
    }
  }
  out.whole = true;
  out.method = std::string(p.get().method_string());
  out.target = switchboard::http::origin_form(p.get().target());
  out.body = p.get().body();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Read a = ours(wire, piece);
  const Read b = reference(wire);
  FUZZ_CHECK(a.too_large == b.too_large);
  if (a.too_large) return 0;
  FUZZ_CHECK(a.refused == b.refused);
  FUZZ_CHECK(a.whole == b.whole);
  if (a.whole) {
    FUZZ_CHECK(a.method == b.method);
    FUZZ_CHECK(a.target == b.target);
    FUZZ_CHECK(a.body == b.body);
  }
  return 0;
}
