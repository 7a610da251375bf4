// Reading HTTP/1.1 messages into a Beast parser, for the server's sessions and the upstream client:
// the same results as bhttp::async_read_some / async_read_header / async_read, without Beast's
// composed operations. Those wrap every read in two layers of composed_op and finish even a read
// that the buffered bytes already satisfy through a posted completion; on the gateway's hot path
// (a request and its body arrive in one segment, an upstream answer likewise) that machinery cost
// about a fifth of a proxied request's instructions (bench/callgrind.sh). Here the bytes already in
// `buffer` are parsed first, synchronously, and the stream is read only when they are not enough.
//
// Errors, as Beast gives them: the parser's (header_limit, body_limit, bad_*, need_buffer for a
// buffer_body whose buffer is full), the stream's (timeouts from DeadlineStream's deadline:
// beast::error::timeout), end_of_stream when the stream ends before any byte of the message, and
// the parser's put_eof() result when it ends within one.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/system/error_code.hpp>

namespace switchboard::http {

// Parses what `buffer` holds; reads once from `stream` only when that made no progress. Returns
// when the parser made progress (or is done), or on an error.
template <typename Stream, typename Parser>
boost::asio::awaitable<boost::system::error_code> read_some_into(Stream& stream,
                                                                 boost::beast::flat_buffer& buffer,
                                                                 Parser& parser) {
  namespace bhttp = boost::beast::http;
  boost::system::error_code ec;
  for (;;) {
    if (parser.is_done()) co_return ec;
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (used > 0) co_return ec;  // progress (the server counts a body as it grows)
      } else if (ec || used > 0 || parser.is_done()) {
        co_return ec;
      }
    }
    const std::size_t want = boost::beast::read_size(buffer, 65536);
    if (want == 0) co_return bhttp::error::buffer_overflow;
    auto [rec, n] = co_await stream.async_read_some(
        buffer.prepare(want), boost::asio::as_tuple(boost::asio::use_awaitable));
    if (rec == boost::asio::error::eof) {
      if (!parser.got_some()) co_return bhttp::error::end_of_stream;
      parser.put_eof(ec);
      co_return ec;
    }
    if (rec) co_return rec;
    buffer.commit(n);
  }
}

// Reads until the header is parsed (`whole` false) or the whole message (`whole` true; the
// parser is then eager, as bhttp::async_read makes it).
template <typename Stream, typename Parser>
boost::asio::awaitable<boost::system::error_code> read_message(Stream& stream,
                                                               boost::beast::flat_buffer& buffer,
                                                               Parser& parser, bool whole) {
  if (whole) parser.eager(true);
  for (;;) {
    if (whole ? parser.is_done() : parser.is_header_done()) co_return boost::system::error_code{};
    auto ec = co_await read_some_into(stream, buffer, parser);
    if (ec) co_return ec;
  }
}

}  // namespace switchboard::http
