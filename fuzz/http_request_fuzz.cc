// What a client sends the gateway — untrusted bytes — read the way the server reads a request
// (http/server.cc, Server::session): a bhttp::request_parser<http::ArrivingBody> fed the bytes as
// they arrive (in pieces of a size the input picks), the head first (header limit, no body limit),
// then the head's checks (http/request_head.h: an absolute-form target to origin-form, a
// Transfer-Encoding not ending in chunked refused), then the body under its limit, counted as it
// grows. Compared with Beast's own request_parser<string_body> fed the whole wire at once
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
#include "http/arriving_body.h"
#include "http/request_head.h"

namespace {

namespace bhttp = boost::beast::http;
using switchboard::http::ArrivingBody;

constexpr std::uint32_t kHeaderLimit = 8192;
constexpr std::uint64_t kBodyLimit = 1 << 16;

struct Read {
  bool whole = false;    // a request, head and body, without error
  bool refused = false;  // the head's checks refused it (unframed body)
  std::string method, target, body;
};

class Wire {
 public:
  Wire(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}
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

// http::read_some_into, synchronously: returns on progress (also mid-chunk), or an error.
template <typename Parser>
boost::system::error_code read_some(Wire& wire, std::string& buffer, Parser& parser) {
  boost::system::error_code ec;
  for (;;) {
    if (parser.is_done()) return ec;
    if (!buffer.empty()) {
      const std::size_t used =
          parser.put(boost::asio::const_buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (used > 0) return ec;
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
  p.body_limit(boost::none);  // as the server: no body limit while the head is read
  boost::system::error_code ec;
  std::string_view rest = bytes;
  bool head_checked = false;
  while (!p.is_done()) {
    const std::size_t n =
        rest.empty() ? 0 : p.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(n);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec) return out;
    if (p.is_header_done() && !head_checked) {
      head_checked = true;
      if (switchboard::http::unframed_body(p.get().base(), p.chunked())) {
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
  FUZZ_CHECK(a.refused == b.refused);
  FUZZ_CHECK(a.whole == b.whole);
  if (a.whole) {
    FUZZ_CHECK(a.method == b.method);
    FUZZ_CHECK(a.target == b.target);
    FUZZ_CHECK(a.body == b.body);
  }
  return 0;
}
