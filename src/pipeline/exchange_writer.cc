#include "pipeline/exchange_writer.h"

#include "api/answer_translator.h"
#include "api/errors.h"

namespace switchboard::pipeline {

using http::bhttp::field;

namespace {
template <typename Message>
void set_headers(Message& m, ResponseWriter::Headers headers) {
  for (const auto& [name, value] : headers) m.set(name, value);
}
}  // namespace

boost::asio::awaitable<bool> ExchangeWriter::respond(unsigned status, std::string_view content_type,
                                                     Headers headers, std::string body) {
  if (wrap_errors_ && status != 200)
    return ex_.respond(status, "application/json", headers,
                       api::openai_upstream_error_body(status, body));
  return ex_.respond(status, content_type, headers, std::move(body));
}

boost::asio::awaitable<bool> ExchangeWriter::error(const Error& error, Headers headers) {
  return respond(http_status(error.kind), "application/json", headers, api::error_json(error));
}

boost::asio::awaitable<bool> ExchangeWriter::start_stream(Headers headers) {
  http::ResponseHead head{http::bhttp::status::ok, 11};
  head.set(field::content_type, "text/event-stream");
  head.set(field::cache_control, "no-cache");
  set_headers(head, headers);
  return ex_.start_stream(std::move(head));
}

boost::asio::awaitable<bool> ExchangeWriter::write_chunk(std::string_view data) {
  return ex_.write_chunk(data);
}

boost::asio::awaitable<bool> ExchangeWriter::stream_error(const Error& error) {
  const std::string event = api::error_sse_event(error);
  if (!co_await ex_.write_chunk(event)) co_return false;
  co_return co_await ex_.write_chunk("data: [DONE]\n\n");
}

boost::asio::awaitable<bool> ExchangeWriter::finish_stream() {
  return ex_.finish_stream();
}

}  // namespace switchboard::pipeline
