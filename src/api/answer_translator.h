// How an API front end (pipeline/fronts/) turns the answers of an OpenAI chat-completions upstream
// into its own API's shape: a whole body, a stream of events, and errors.
//
// One translator per request, built from the client's parsed request (or with defaults when the
// request could not be parsed: then only the error methods are used). Pure, no I/O; never throws
// on any input (upstream bodies are untrusted). Calls come in order from one coroutine:
// whole() once, or event()* then finish() (after which event() returns "").
#pragma once

#include <cstdint>

#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::api {

class AnswerTranslator {
 public:
  virtual ~AnswerTranslator() = default;
  // A whole `chat.completion` body (HTTP 200) in the API's shape. Errors (kUpstreamError,
  // "upstream_bad_answer") when the body is not a chat completion.
  virtual Result<std::string> whole(std::string_view chat_completion) = 0;
  // One server-sent event's data of a `chat.completion.chunk` stream ("[DONE]" included): the
  // API's SSE bytes it gives (possibly none).
  virtual std::string event(std::string_view data) = 0;
  // The upstream stream ended normally: the API's closing events not sent yet ("" when sent).
  virtual std::string finish() = 0;
  // An error answered before anything was sent: the API's JSON error body.
  virtual std::string error_body(const Error& error) const = 0;
  // An error after a stream started: the API's error event(s), ending the stream ("" when it has
  // ended already).
  virtual std::string error_event(const Error& error) = 0;
  // The error the translator ended a stream with on its own, because the upstream sent something
  // the API cannot carry (an event that is not JSON, a tool call's arguments that are not an
  // object), or null. The gateway ends the stream there and records it broken
  // (ResponseWriter::stream_failure()).
  virtual const Error* stream_failure() const { return nullptr; }
  // What in a whole chat.completion (a replica's 200 answer, checked before it is taken) the API
  // cannot carry, to follow "answered 200 with "; "" when nothing. An answer with such a part is a
  // bad answer of that replica (retried elsewhere) rather than a 502 once taken.
  virtual std::string answer_problem(std::string_view chat_completion) const {
    (void)chat_completion;
    return {};
  }
  // An upstream's own non-200 body (OpenAI-shaped, or anything) in the API's error shape.
  virtual std::string upstream_error_body(unsigned status, std::string_view body) const = 0;
  // The stored-conversation state the API's answers report, set by the gateway before any answer
  // (the Responses API's `store` and `previous_response_id`; other APIs have none: ignored).
  virtual void set_conversation(bool stored, std::string_view previous_id) {
    (void)stored;
    (void)previous_id;
  }
  // The request's prompt tokens as the gateway estimated them, set before a stream's first event
  // or a whole answer: what a stream reports before the upstream's own count arrives (Messages'
  // message_start carries input_tokens; clients such as LangChain's read it there), and what a
  // whole answer without usage reports. Other APIs: ignored.
  virtual void set_prompt_tokens(std::int64_t estimated) { (void)estimated; }
};

// The message of an upstream's error body: OpenAI's {"error":{"message":...}}, {"error":"..."},
// vLLM's {"object":"error","message":...}, FastAPI's {"detail": "..." or [{loc, msg}, ...]}; else
// the body itself. At most 512 bytes (cut at a UTF-8 boundary, "..." added).
std::string upstream_error_message(std::string_view body);
// An upstream's non-200 body as an OpenAI error object: unchanged when it is one
// ({"error":{"message":...}}, other top-level keys allowed), else {"error":{message
// (upstream_error_message), type (by the status: invalid_request_error, authentication_error,
// permission_error, rate_limit_error, server_error), code "upstream_status_<status>", param
// null}} — an HTML error page, vLLM's or FastAPI's body, {"error":"a string"} — which OpenAI's
// SDKs could not read; an error object without a message keeps its own type, code and param.
std::string openai_upstream_error_body(unsigned status, std::string_view body);

}  // namespace switchboard::api
