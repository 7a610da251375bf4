// Metering an answer passed through natively from a Responses-speaking upstream (replica
// `api: responses`, docs/apis.md): what the decision record needs (usage, whether the stream
// finished or failed) read from the OpenAI Responses API's own shapes. Pure, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "api/sse.h"

namespace switchboard::api {

// The usage of a whole `response` body ({"usage":{"input_tokens","output_tokens"}}); nullopt
// when absent or not JSON.
std::optional<Usage> responses_usage(std::string_view response_json);

// The same for a stream, fed each event's data: usage from the terminal event
// (response.completed, response.incomplete or response.failed: its `response.usage`), text and
// function-call argument deltas counted; a terminal event is the stream's end, an `error` event or
// response.failed an error.
class ResponsesStreamMeter {
 public:
  void on_event(std::string_view data);
  std::optional<Usage> reported_usage() const { return usage_; }
  std::int64_t content_chunks() const { return chunks_; }
  bool saw_done() const { return done_; }
  bool saw_error() const { return error_; }
  // An event came before its terminal event that is not a JSON object (events without data do not
  // count): the gateway ends the stream there as broken (pipeline/deliver.cc), as for chat.
  bool saw_bad_event() const { return bad_event_; }
  // The terminal or an error event came (one answer per stream: `choices` is not used).
  bool complete(std::int64_t /*choices*/ = 1) const { return done_ || error_; }

 private:
  std::optional<Usage> usage_;
  std::int64_t chunks_ = 0;
  bool done_ = false, error_ = false, bad_event_ = false;
};

}  // namespace switchboard::api
