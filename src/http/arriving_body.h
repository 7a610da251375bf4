// The body type the server parses requests into: a std::string like bhttp::string_body, whose
// reader does not reserve a declared Content-Length when the head is parsed (string_body does).
// Memory grows with the bytes that arrived (geometrically, so at most about twice them), which is
// what the server's body budget counts: a client that declares a large body and sends nothing
// holds neither memory nor budget. Parse-only (no writer); the server moves the result into a
// Request (bhttp::string_body).
#pragma once

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace switchboard::http {

struct ArrivingBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) {
      ec = {};
      if (length && *length > body_.max_size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return;
      }
      constexpr std::uint64_t kFirst = 16 * 1024;  // most request bodies fit; more as it comes
      if (length) body_.reserve(static_cast<std::size_t>(std::min(*length, kFirst)));
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      const std::size_t extra = boost::asio::buffer_size(buffers);
      const std::size_t size = body_.size();
      if (extra > body_.max_size() - size) {
        ec = boost::beast::http::error::buffer_overflow;
        return 0;
      }
      ec = {};
      body_.resize(size + extra);  // std::string grows its capacity geometrically
      char* out = body_.data() + size;
      for (const auto b : boost::beast::buffers_range_ref(buffers)) {
        std::memcpy(out, b.data(), b.size());
        out += b.size();
      }
      return extra;
    }

    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace switchboard::http
