// A ResponseWriter in another API's shape over the front end's writer (exchange_writer.h): what
// the stages and the executor write in OpenAI chat-completions shape — a whole answer, a relayed
// chunk stream, an upstream's error, the gateway's own errors — goes to the client through an
// api::AnswerTranslator (answer_translator.h). Response headers (x-switchboard-*) pass unchanged.
//
// A whole 200 answer that is not a chat completion becomes a 502 upstream_bad_answer in the API's
// shape (refused_answer(): the decision record says so too, executor.h note_refused_answer()).
// A stream's chunks are split into events by an SseParser (bounded as the relay's) and each
// event's data is translated as it arrives; an event the translator cannot read or carry ends the
// client's stream with the API's error event, and stream_failure() then says why, for the relay to
// record the stream as broken (AnswerTranslator::stream_failure(), deliver.cc).
//
// With `pass_answers` (native pass-through: the upstream already speaks the client's API), answers
// and stream bytes go out unchanged; only the gateway's own errors are written in the API's shape.
#pragma once

#include <memory>
#include <optional>

#include "api/answer_translator.h"
#include "api/sse.h"
#include "switchboard/response_writer.h"

namespace switchboard::pipeline {

class TranslatingWriter final : public ResponseWriter {
 public:
  // All three outlive the writer. `prompt_tokens`: the request's estimate, read when a stream
  // starts (AnswerTranslator::set_prompt_tokens()); null = none.
  TranslatingWriter(ResponseWriter& inner, api::AnswerTranslator& translator,
                    bool pass_answers = false, const std::int64_t* prompt_tokens = nullptr);
  boost::asio::awaitable<bool> respond(unsigned status, std::string_view content_type,
                                       Headers headers, std::string body) override;
  boost::asio::awaitable<bool> error(const Error& error, Headers headers) override;
  boost::asio::awaitable<bool> start_stream(Headers headers) override;
  boost::asio::awaitable<bool> write_chunk(std::string_view data) override;
  boost::asio::awaitable<bool> stream_error(const Error& error) override;
  boost::asio::awaitable<bool> finish_stream() override;
  const Error* refused_answer() const override { return refused_ ? &*refused_ : nullptr; }
  std::string answer_problem(std::string_view chat_completion) const override {
    return pass_ ? std::string() : translator_.answer_problem(chat_completion);
  }
  const Error* stream_failure() const override {
    return pass_ ? nullptr : translator_.stream_failure();
  }

 private:
  std::optional<Error> refused_;
  ResponseWriter& inner_;
  api::AnswerTranslator& translator_;
  const bool pass_;
  const std::int64_t* prompt_tokens_;
  std::string pending_;  // translated bytes of the events completed by the last feed
  bool at_end_ = false;  // finish_stream() is ending the last event
  api::SseParser parser_;
};

}  // namespace switchboard::pipeline
