#include "pipeline/capturing_writer.h"

namespace switchboard::pipeline {

using boost::asio::awaitable;

CapturingWriter::CapturingWriter(ResponseWriter& inner, api::ConversationCapture& capture,
                                 store::DecisionRecord& record, std::size_t max_bytes,
                                 std::function<void(const std::string&)> on_kept)
    : inner_(inner),
      capture_(capture),
      record_(record),
      max_bytes_(max_bytes),
      on_kept_(std::move(on_kept)),
      parser_([this](std::string_view data) { capture_.event(data); }, max_bytes, max_bytes) {}

void CapturingWriter::keep() {
  if (broken_) return;
  auto stored = capture_.result();
  if (!stored || stored->items.size() > max_bytes_) return;
  // The conversation first: the response object (for GET) is kept only when both fit.
  if (stored->items.size() + stored->response.size() > max_bytes_) stored->response.clear();
  record_.stored_response = store::StoredResponse{std::move(stored->id), std::move(stored->items),
                                                  std::move(stored->response)};
  if (on_kept_) on_kept_(record_.stored_response->id);
}

awaitable<bool> CapturingWriter::respond(unsigned status, std::string_view content_type,
                                         Headers headers, std::string body) {
  if (status == 200 && body.size() <= max_bytes_) {
    if (content_type.starts_with("text/event-stream")) {  // a whole stream at once (cached)
      parser_.feed(body);
      parser_.finish();
    } else {
      capture_.whole(body);
    }
    keep();
  }
  co_return co_await inner_.respond(status, content_type, headers, std::move(body));
}

awaitable<bool> CapturingWriter::error(const Error& error, Headers headers) {
  return inner_.error(error, headers);
}

awaitable<bool> CapturingWriter::start_stream(Headers headers) {
  return inner_.start_stream(headers);
}

awaitable<bool> CapturingWriter::write_chunk(std::string_view data) {
  parser_.feed(data);  // past the bound it stops capturing; the client's stream goes on
  return inner_.write_chunk(data);
}

awaitable<bool> CapturingWriter::stream_error(const Error& error) {
  broken_ = true;
  return inner_.stream_error(error);
}

awaitable<bool> CapturingWriter::finish_stream() {
  parser_.finish();
  keep();
  return inner_.finish_stream();
}

}  // namespace switchboard::pipeline
