// The upstream response's parser: Beast's HTTP/1.1 response parsing (status line, framing by
// Content-Length, chunked or close, keep-alive, limits) that keeps, of the header, only the status,
// whether a Content-Encoding applies, and the Content-Type — the one upstream header the gateway passes on (UpstreamCall) — and reads
// the body into the caller's buffer as bhttp::buffer_body does. The Content-Type is kept
// lower-cased. bhttp::response_parser would store
// every field in a bhttp::fields (an allocation and a tree insertion per field) only for them to be
// dropped: about 3k instructions of a proxied request (bench/callgrind.sh).
//
// Body: set body(data, size) before each put(); the parser copies into it and, when it is full,
// stops with bhttp::error::need_buffer (the buffer_body contract); body_left() is what remains.
#pragma once

#include <algorithm>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <string>
#include <string_view>

#include "switchboard/ascii.h"

namespace switchboard::http {

class ResponseHeadParser final : public boost::beast::http::basic_parser<false> {
 public:
  unsigned status() const { return status_; }
  const std::string& content_type() const { return content_type_; }
  // A Content-Encoding other than identity (the gateway asks for none, and reads bodies as they
  // come: a gzip body would be passed on as text).
  bool encoded() const { return encoded_; }
  // The answer's Retry-After (delay-seconds or an HTTP-date), "" when absent or not printable
  // ASCII of at most 64 bytes: passed on with a 429 or 503 the client gets.
  const std::string& retry_after() const { return retry_after_; }

  void body(char* data, std::size_t size) {
    data_ = data;
    left_ = size;
  }
  std::size_t body_left() const { return left_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override {
    status_ = static_cast<unsigned>(code);
  }
  void on_field_impl(boost::beast::http::field name, string_view, string_view value,
                     error_code&) override {
    if (name == boost::beast::http::field::content_type) {
      // Lower-cased: media types are case-insensitive, and the gateway compares them
      // ("Text/Event-Stream" is an event stream).
      content_type_.assign(value.data(), value.size());
      for (char& c : content_type_)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (name == boost::beast::http::field::retry_after && !value.empty() && value.size() <= 64 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
      retry_after_.assign(value.data(), value.size());
    if (name == boost::beast::http::field::content_encoding)  // an empty list is none
      encoded_ = encoded_ || (!value.empty() && !ascii_iequals(value, "identity"));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  std::size_t take(string_view body, error_code& ec) {
    const std::size_t n = body.size() < left_ ? body.size() : left_;
    if (n > 0) std::memcpy(data_, body.data(), n);
    data_ += n;
    left_ -= n;
    if (n < body.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  unsigned status_ = 0;
  bool encoded_ = false;
  std::string content_type_;
  std::string retry_after_;
  char* data_ = nullptr;
  std::size_t left_ = 0;
};

}  // namespace switchboard::http
