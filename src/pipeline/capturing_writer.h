// A ResponseWriter that passes everything to the one below it unchanged and shows the answer the
// client gets — a whole body, or a stream's events — to an api::ConversationCapture; once the
// answer is complete (respond() with 200, or finish_stream()), what the capture gives is put in
// the decision record (DecisionRecord::stored_response) for the store to keep. Used for Responses
// requests with `store: true` when `apis.responses.store` allows it (docs/apis.md).
//
// Bounded: an answer of more than `max_bytes` (a whole body, or a stream's event) is not captured;
// nor is the conversation when its items exceed `max_bytes`.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "api/conversation_capture.h"
#include "api/sse.h"
#include "store/decision_store.h"
#include "switchboard/response_writer.h"

namespace switchboard::pipeline {

class CapturingWriter final : public ResponseWriter {
 public:
  // All three outlive the writer. `on_kept` (optional) is told the stored response's id once it is
  // in the record, before the answer's last bytes go to the client.
  CapturingWriter(ResponseWriter& inner, api::ConversationCapture& capture,
                  store::DecisionRecord& record, std::size_t max_bytes,
                  std::function<void(const std::string&)> on_kept = {});
  boost::asio::awaitable<bool> respond(unsigned status, std::string_view content_type,
                                       Headers headers, std::string body) override;
  boost::asio::awaitable<bool> error(const Error& error, Headers headers) override;
  boost::asio::awaitable<bool> start_stream(Headers headers) override;
  boost::asio::awaitable<bool> write_chunk(std::string_view data) override;
  boost::asio::awaitable<bool> stream_error(const Error& error) override;
  boost::asio::awaitable<bool> finish_stream() override;
  const Error* refused_answer() const override { return inner_.refused_answer(); }
  const Error* stream_failure() const override { return inner_.stream_failure(); }
  std::string answer_problem(std::string_view whole) const override {
    return inner_.answer_problem(whole);
  }

 private:
  void keep();  // the capture's result into the record, if any and within bounds

  ResponseWriter& inner_;
  api::ConversationCapture& capture_;
  store::DecisionRecord& record_;
  const std::size_t max_bytes_;
  std::function<void(const std::string&)> on_kept_;
  api::SseParser parser_;
  bool broken_ = false;  // the stream ended in an error: nothing is kept
};

}  // namespace switchboard::pipeline
