#include "pipeline/translating_writer.h"

namespace switchboard::pipeline {

using boost::asio::awaitable;

TranslatingWriter::TranslatingWriter(ResponseWriter& inner, api::AnswerTranslator& translator,
                                     bool pass_answers, const std::int64_t* prompt_tokens)
    : inner_(inner),
      translator_(translator),
      pass_(pass_answers),
      prompt_tokens_(prompt_tokens),
      parser_([this](std::string_view data) {
        // An event the body's end cut off before its blank line is dropped, as the SSE rules
        // say, unless it reads as an event at all ([DONE], a JSON object): its translation would
        // fail the stream that a chat client's relay ends as complete.
        if (at_end_) {
          const std::size_t start = data.find_first_not_of(" \t\r\n");
          if (start == std::string_view::npos) return;
          if (data[start] != '{' && data.substr(start) != "[DONE]") return;
        }
        pending_ += translator_.event(data);
      }) {}

awaitable<bool> TranslatingWriter::respond(unsigned status, std::string_view content_type,
                                           Headers headers, std::string body) {
  if (pass_) co_return co_await inner_.respond(status, content_type, headers, std::move(body));
  if (status != 200) {
    std::string translated = translator_.upstream_error_body(status, body);
    co_return co_await inner_.respond(status, "application/json", headers, std::move(translated));
  }
  if (content_type.starts_with("text/event-stream")) {  // a whole stream at once (a cached one)
    if (prompt_tokens_) translator_.set_prompt_tokens(*prompt_tokens_);
    pending_.clear();
    parser_.feed(body);
    parser_.finish();
    std::string events = std::move(pending_);
    pending_.clear();
    events += translator_.finish();
    co_return co_await inner_.respond(200, "text/event-stream", headers, std::move(events));
  }
  // The estimate, for an answer that brings no usage of its own (a stream reports it too).
  if (prompt_tokens_) translator_.set_prompt_tokens(*prompt_tokens_);
  auto translated = translator_.whole(body);
  if (!translated) {
    refused_ = translated.error();
    std::string err = translator_.error_body(translated.error());
    co_return co_await inner_.respond(http_status(translated.error().kind), "application/json",
                                      headers, std::move(err));
  }
  co_return co_await inner_.respond(200, "application/json", headers, std::move(*translated));
}

awaitable<bool> TranslatingWriter::error(const Error& error, Headers headers) {
  std::string body = translator_.error_body(error);
  return inner_.respond(http_status(error.kind), "application/json", headers, std::move(body));
}

awaitable<bool> TranslatingWriter::start_stream(Headers headers) {
  if (prompt_tokens_ && !pass_) translator_.set_prompt_tokens(*prompt_tokens_);
  return inner_.start_stream(headers);
}

awaitable<bool> TranslatingWriter::write_chunk(std::string_view data) {
  if (pass_) co_return co_await inner_.write_chunk(data);
  pending_.clear();
  parser_.feed(data);
  if (pending_.empty()) co_return true;
  std::string out = std::move(pending_);
  pending_.clear();
  co_return co_await inner_.write_chunk(out);
}

awaitable<bool> TranslatingWriter::stream_error(const Error& error) {
  std::string out = translator_.error_event(error);
  if (out.empty()) co_return true;  // the translator ended the stream already (stream_failure())
  co_return co_await inner_.write_chunk(out);
}

awaitable<bool> TranslatingWriter::finish_stream() {
  if (pass_) co_return co_await inner_.finish_stream();
  pending_.clear();
  at_end_ = true;
  parser_.finish();
  std::string out = std::move(pending_);
  pending_.clear();
  out += translator_.finish();
  if (!out.empty() && !co_await inner_.write_chunk(out)) co_return false;
  co_return co_await inner_.finish_stream();
}

}  // namespace switchboard::pipeline
