// How the request path answers its client, without knowing the HTTP server's types.
//
// The API front end (src/pipeline/ for chat completions today) implements it over the client's
// connection; offline evaluation implements it in memory. Each method returns false when the
// client is gone (the caller stops writing and records `client_gone`). Errors are written in the
// front end's own API shape (OpenAI's `{"error":{...}}` for chat completions) with the status from
// http_status(). Calls come from one coroutine, in order: respond() or error() once, or
// start_stream(), write_chunk()*, [stream_error()], finish_stream().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "switchboard/result.h"

namespace switchboard {

class ResponseWriter {
 public:
  using Headers = std::span<const std::pair<std::string_view, std::string_view>>;
  virtual ~ResponseWriter() = default;
  virtual boost::asio::awaitable<bool> respond(unsigned status, std::string_view content_type,
                                               Headers headers, std::string body) = 0;
  virtual boost::asio::awaitable<bool> error(const Error& error, Headers headers) = 0;
  // 200, text/event-stream, chunked.
  virtual boost::asio::awaitable<bool> start_stream(Headers headers) = 0;
  virtual boost::asio::awaitable<bool> write_chunk(std::string_view data) = 0;
  // Ends a stream that broke after it started with the API's error event (and its end marker).
  virtual boost::asio::awaitable<bool> stream_error(const Error& error) = 0;
  virtual boost::asio::awaitable<bool> finish_stream() = 0;
  // Why respond() wrote an error instead of the 200 answer it was given (an answer the API's
  // shape cannot carry: pipeline/translating_writer.h), or null. Wrappers pass it on.
  virtual const Error* refused_answer() const { return nullptr; }
  // Why write_chunk() ended the stream with an error of its own instead of what it was given (an
  // upstream event the API's shape cannot carry: api::AnswerTranslator::stream_failure()), or
  // null. Wrappers pass it on.
  virtual const Error* stream_failure() const { return nullptr; }
  // What in a whole chat-completions answer this writer's API cannot carry (api::AnswerTranslator::
  // answer_problem()), "" when nothing: the replica's answer is then a bad one (model_call.cc).
  virtual std::string answer_problem(std::string_view chat_completion) const {
    (void)chat_completion;
    return {};
  }
};

}  // namespace switchboard
