// OpenAI chat-completion responses as multi-call plans need them (pipeline/plans/): the answer
// read out of a whole `chat.completion` body, the request body for a call whose answer is
// buffered (never streamed to the client), the body of a synthesizing call, and a buffered answer
// re-sent to a streaming client as `chat.completion.chunk` events.
//
// Pure functions, no I/O; never throw on any input (upstream bodies are untrusted).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/sse.h"
#include "switchboard/judge.h"
#include "switchboard/result.h"

namespace switchboard::api {

struct CompletionAnswer {
  std::string id;
  std::string model;
  std::int64_t created = 0;
  std::string content;                     // choices[0].message.content ("" when null or absent)
  // choices[0].message.tool_calls in a canonical form, for judging and voting: one line per call,
  // `name(arguments)` with the arguments re-serialised (keys sorted, no blanks; as sent when they
  // are not JSON); "" when there are none.
  std::string tool_calls;
  std::string finish_reason;               // choices[0].finish_reason ("" when absent)
  std::optional<AnswerLogprobs> logprobs;  // choices[0].logprobs.content, when present
  std::optional<Usage> usage;
};

// Reads a chat.completion body. Errors (kUpstreamError, "upstream_bad_answer"): not JSON, not an
// object, or no choices[0].message.
Result<CompletionAnswer> parse_completion(std::string_view body);

// The client's request body for a buffered upstream call: "stream" false, no "stream_options",
// `model` renamed; with `logprobs`, "logprobs": true and "top_logprobs": 5 unless the client set
// them. The body must have passed parse_chat_request (else it is returned unchanged).
std::string buffered_call_body(std::string_view body, std::string_view model, bool logprobs);

// The body of a synthesizing call: the client's request (its parameters, tools and messages kept:
// the system prompt and the earlier turns shape the final answer) with `model`, "stream" false
// and one more user message holding `prompt` (the last question and the members' answers). Until
// session 30 the messages were replaced by that one message: the system prompt was lost.
std::string synthesis_call_body(std::string_view body, std::string_view model,
                                std::string_view prompt);

// `body` (a chat.completion) with its choices' "logprobs" as `client_body` asked for them: none
// unless it sent "logprobs": true, and each token's top_logprobs cut to its "top_logprobs" count
// (none when it named no count). A plan's `logprobs` judge asks the upstream for them, with 5
// alternatives, whatever the client asked. Unchanged when there is nothing to remove or either is
// not a JSON object.
std::string without_unrequested_logprobs(std::string_view client_body, std::string body);

// The whole chat.completion `body` as the events a streaming client gets, nothing of it lost: for
// each choice (in order, by its index) a role chunk, its reasoning (`reasoning_content`, else
// `reasoning`: the first not empty; each piece under every name the message used) in pieces, its
// content in pieces of about `piece_chars` characters with its token logprobs (whole tokens per
// chunk, each chunk with its tokens' entries, when the entries spell the content; else all entries
// on the last content chunk), its refusal (with the refusal's logprobs), its tool calls (one
// delta, each call with its "index"), a legacy function_call (one delta), then a chunk with its
// finish reason and the stop string that ended it (stop_reason / matched_stop, when present); the
// body's id, created, model and system_fingerprint on every chunk; a usage chunk when `include_usage` and the body has usage; then "data: [DONE]". nullopt when the
// body is not a JSON object with a `choices` array.
std::optional<std::string> completion_body_as_sse(std::string_view body, bool include_usage,
                                                  std::size_t piece_chars = 24);

// The answer as the events a streaming client gets: a role chunk, the content in pieces of about
// `piece_chars` characters (cut at UTF-8 character boundaries), a chunk with the finish reason,
// a usage chunk when `include_usage` and the answer has usage, then "data: [DONE]".
std::string completion_as_sse(const CompletionAnswer& answer, bool include_usage,
                              std::size_t piece_chars = 24);

}  // namespace switchboard::api
