// What an upstream answers on the wire — untrusted bytes from a broken or malicious server — read
// the way http::UpstreamCall reads it (http/upstream.cc): http::ResponseHeadParser fed the bytes as
// they arrive (in pieces of a size the input picks), the header first, interim 1xx answers
// skipped, then the body into a fixed buffer that is emptied whenever it fills (the need_buffer
// contract), the end of the stream passed on with put_eof(). Compared with Beast's own
// bhttp::response_parser<string_body> on the same bytes (differential):
//  - no crash or UB, whatever the bytes;
//  - the two agree on whether a final answer was read whole, and then on its status, its body
//    (after de-chunking) and — when the header holds exactly one — its Content-Type (lower-cased).
// The first two bytes pick the arrival piece size and the body buffer size; the rest is the wire.
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_wire.h"
#include "http/response_head_parser.h"
#include "switchboard/ascii.h"

namespace {

namespace bhttp = boost::beast::http;

struct Read {
  bool whole = false;  // a final answer, header and body, without error
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

using fuzz_wire::read_some;
using fuzz_wire::Wire;

Read ours(std::string_view bytes, std::size_t piece, std::size_t chunk) {
  Read out;
  Wire wire(bytes, piece);
  std::string buffer;
  std::optional<switchboard::http::ResponseHeadParser> parser;
  std::string body_buffer(chunk, '\0');
  // The header, skipping interim answers (UpstreamClient::send: at most 8, 101 refused).
  for (int interim = 0;; ++interim) {
    parser.emplace();
    parser->body_limit(boost::none);
    boost::system::error_code ec;
    while (!parser->is_header_done()) {
      ec = read_some(wire, buffer, *parser);
      if (ec == bhttp::error::need_buffer) ec = {};  // no body buffer yet: the header is done
      if (ec) return out;
    }
    const unsigned status = parser->status();
    if (status >= 200 || status < 100) break;
    if (status == 101 || interim == 8) return out;
  }
  // The body, as UpstreamCall::read_some reads it.
  while (!parser->is_done()) {
    parser->body(body_buffer.data(), body_buffer.size());
    auto ec = read_some(wire, buffer, *parser);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return out;
    out.body.append(body_buffer.data(), body_buffer.size() - parser->body_left());
  }
  out.whole = true;
  out.status = parser->status();
  out.content_type = parser->content_type();
  return out;
}

// Beast's reference reading of the whole wire at once: interim answers skipped the same way.
Read reference(std::string_view bytes, int& content_types) {
  Read out;
  std::string_view rest = bytes;
  for (int interim = 0;; ++interim) {
    bhttp::response_parser<bhttp::string_body> p;
    // string_body reserves the Content-Length: a body longer than the wire cannot be read whole
    // anyway, so the limit changes no verdict and keeps a lying length from allocating gigabytes.
    p.body_limit(bytes.size());
    p.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!rest.empty() && !p.is_done()) {
      const std::size_t n = p.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(n);
      used += n;
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (n == 0) break;  // wants more than there is: the end of stream decides
        continue;
      }
      if (ec) return out;
      if (n == 0) break;
    }
    if (!p.is_done()) {
      if (!p.got_some()) return out;
      if (p.is_header_done() && (p.get().result_int() < 200 && p.get().result_int() >= 100))
        return out;  // an interim answer cut short
      p.put_eof(ec);
      if (ec || !p.is_done()) return out;
    }
    const unsigned status = p.get().result_int();
    if (status >= 100 && status < 200) {
      if (status == 101 || interim == 8) return out;
      continue;
    }
    out.whole = true;
    out.status = status;
    content_types = static_cast<int>(p.get().count(bhttp::field::content_type));
    if (content_types == 1) {  // lower-cased, as ResponseHeadParser keeps it
      out.content_type = std::string(p.get()[bhttp::field::content_type]);
      for (char& c : out.content_type) c = switchboard::ascii_lower(c);
    }
    out.body = p.get().body();
    return out;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::size_t chunk = 1 + data[1] % 128;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);
  const Read a = ours(wire, piece, chunk);
  int content_types = 0;
  const Read b = reference(wire, content_types);
  FUZZ_CHECK(a.whole == b.whole);
  if (!a.whole) return 0;
  FUZZ_CHECK(a.status == b.status);
  FUZZ_CHECK(a.body == b.body);
  if (content_types == 1) FUZZ_CHECK(a.content_type == b.content_type);
  return 0;
}
