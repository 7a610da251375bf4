// What an upstream answers on the wire — untrusted bytes from a broken or malicious server — read
// the way http::UpstreamCall reads it (http/upstream.cc): http::ResponseHeadParser fed the bytes as
// they arrive (in pieces of a size the input picks), the header first, interim 1xx answers
// skipped, then the body into a fixed buffer that is emptied whenever it fills (the need_buffer
// contract), the end of the stream passed on with put_eof(). Compared with Beast's own
// bhttp::response_parser<string_body> on the same bytes (differential):
//  - no crash or UB, whatever the bytes;
//  - the two agree on whether a final answer was read whole, and then on its status, its body
//    (after de-chunking) and — when the header holds exactly one — its Content-Type.
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
#include "http/response_head_parser.h"

namespace {

namespace bhttp = boost::beast::http;

struct Read {
  bool whole = false;  // a final answer, header and body, without error
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// The wire as a stream that delivers at most `piece` bytes per read.
class Wire {
 public:
  Wire(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}
  // Appends the next piece to `buffer`; false at the end of the stream.
  bool read_into(std::string& buffer) {
    if (at_ == bytes_.size()) return false;
    const std::size_t n = std::min(piece_, bytes_.size() - at_);
    buffer.append(bytes_.substr(at_, n));
    at_ += n;
    return true;
  }

 private:
  std::string_view bytes_;
  std::size_t piece_;
  std::size_t at_ = 0;
};

// http::read_some_into, synchronously: parses what `buffer` holds, reads once more only when that
// made no progress. Returns the parser's (or the end of stream's) error.
boost::system::error_code read_some(Wire& wire, std::string& buffer,
                                    switchboard::http::ResponseHeadParser& parser) {
  boost::system::error_code ec;
  for (;;) {
    if (parser.is_done()) return ec;
    if (!buffer.empty()) {
      const std::size_t used =
          parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        ec = {};
      } else if (ec || used > 0 || parser.is_done()) {
        return ec;
      }
    }
    if (!wire.read_into(buffer)) {
      if (!parser.got_some()) return bhttp::error::end_of_stream;
      parser.put_eof(ec);
      return ec;
    }
  }
}

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
    if (content_types == 1) out.content_type = std::string(p.get()[bhttp::field::content_type]);
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
