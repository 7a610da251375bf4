// An upstream API's answers read as OpenAI chat completions, for a chat request served by a
// replica that speaks another API (pipeline/native/translated_api.h): a whole 200 body, an error
// body, and a stream's events. One reader per call, used by one coroutine; pure, never throws on
// any input (upstream bodies are untrusted).
#pragma once

#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::api {

class UpstreamToChat {
 public:
  virtual ~UpstreamToChat() = default;
  // A whole 200 answer as a chat.completion; kUpstreamError "upstream_bad_answer" when it is not
  // an answer of that API.
  virtual Result<std::string> whole(std::string_view body) = 0;
  // A non-200 body in OpenAI's error shape.
  virtual std::string error_body(std::string_view body) = 0;
  // One event's data of the upstream's stream: the chat SSE bytes it gives (possibly none);
  // the stream's end gives "data: [DONE]", after which nothing more is given.
  virtual std::string event(std::string_view data) = 0;
  // Whether the stream came to its end: the final event ([DONE] given) or an error event relayed.
  // A stream that ends before is cut short (pipeline/native/translated_api.cc reports it broken).
  virtual bool finished() const = 0;
};

}  // namespace switchboard::api
