// Shared by the HTTP fuzz targets: the wire as a stream that delivers at most `piece` bytes per
// read, and http::read_some_into (http/read.h) done synchronously over it.
#pragma once

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace fuzz_wire {

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

// Parses what `buffer` holds, reads once more only when that made no progress; returns on
// progress (also mid-chunk) or the parser's (or the end of stream's) error.
template <typename Parser>
boost::system::error_code read_some(Wire& wire, std::string& buffer, Parser& parser) {
  namespace bhttp = boost::beast::http;
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

}  // namespace fuzz_wire
