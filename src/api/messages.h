// The Anthropic Messages API (POST /v1/messages) over an OpenAI chat-completions upstream.
//
// Request: `model`, `max_tokens` (required), `system` (string or text blocks), `messages` (user and
// assistant turns; content a string or blocks: text, image — a base64 or url source, sent as a
// chat image_url part — tool_use, tool_result), `stop_sequences`,
// `temperature`, `top_p`, `stream`, `tools` ({name, description, input_schema}), `tool_choice`
// (auto, any, tool, none), `metadata` (ignored), `top_k` (checked, then ignored: chat completions
// has none), `output_config` / `output_format` (structured outputs → response_format, effort →
// reasoning_effort: api/messages_output.h). `mcp_servers` and `container` make it native-only.
// Translated to one chat request: system first, tool_use blocks → assistant tool_calls,
// tool_result blocks → role "tool" messages, stop_sequences → stop, tools → function tools.
//
// Answers: a chat.completion becomes a `message`: a thinking block when the client asked for
// thinking and the replica reasoned (its signature empty: no Anthropic model signed it), text and
// tool_use blocks, stop_reason end_turn / max_tokens / tool_use / refusal / stop_sequence (with
// `stop_sequence` the string, when the upstream named which of the request's stop sequences ended
// the answer: MessagesRequest::stop_sequences), usage input, output and cache-read tokens. A chunk stream becomes message_start, content_block_start,
// content_block_delta (thinking_delta, text_delta, input_json_delta), content_block_stop,
// message_delta, message_stop. Text (and reasoning) that arrives inside a tool call (its arguments
// not yet a whole JSON value) is held and comes as a text (thinking) block after the call's block. A tool call whose
// arguments are not a JSON object (none at all is {}) cannot be a tool_use block: a whole answer
// with one is an error (kUpstreamError "upstream_bad_answer" naming the tool; answer_problem()
// says so before the answer is taken), and a stream ends with an error event when that call's
// block would close; so does a stream at an event that is not a JSON object ("upstream_bad_event").
// Either is the translator's stream_failure(). Without the upstream's usage, the gateway's
// estimate: the prompt's, and output tokens of the text (whole) or one per content chunk (a
// stream's message_delta). Errors are Anthropic's
// {"type":"error","error":{"type":"invalid_request_error","message":...}}.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/anthropic_usage.h"
#include "api/answer_translator.h"
#include "api/sse.h"
#include "switchboard/result.h"

namespace switchboard::api {

struct MessagesRequest {
  std::string model;
  bool stream = false;
  std::string chat_body;  // the equivalent chat-completions request
  // Why only a replica speaking Anthropic Messages can answer it ("" = any can): the first part
  // chat completions cannot carry (a server tool, a document that is not plain text, a content
  // block of another type). chat_body leaves such parts out; it is what
  // routing reads.
  std::string native_only;
  // The client turned extended thinking on (`thinking` of a type other than "disabled"): a chat
  // replica's reasoning (api/chat_reading.h) reaches it as `thinking` blocks; without it the
  // reasoning is left out, as Anthropic sends no thinking unless asked.
  bool thinking = false;
  // Chat's reasoning_effort for that thinking (its budget: below 4,096 tokens low, below 16,384
  // medium, else high; medium without one), for models with `reasoning: on`; "" without thinking.
  std::string reasoning_effort;
  // The body an Anthropic replica gets instead of the client's, when the client's holds thinking
  // blocks without a signature (a chat replica's reasoning as the gateway gave it, sent back):
  // Anthropic refuses them, so they are left out — and `thinking` too when the last assistant
  // turn began with one and goes on (a tool call, or a prefill: Anthropic then requires a signed
  // one first). nullopt: the client's body as is.
  std::optional<std::string> native_body;
  // The request's `stop_sequences`: a chat replica's answer that names one of them as the stop
  // that ended it (vLLM's `stop_reason`, SGLang's `matched_stop`) says stop_reason
  // "stop_sequence" and that `stop_sequence`; any other string it names is not reported.
  std::vector<std::string> stop_sequences;
  // The last turn is the assistant's text (a prefill): Anthropic continues it, the answer holding
  // what comes after. A chat server takes it as a finished turn unless asked to continue it
  // (models[].prefill: continue, pipeline/model_call.cc).
  bool prefill = false;
};

// Thinking and redacted_thinking blocks of assistant messages are left out of chat_body (chat
// completions take no reasoning back), and so is `thinking` (reasoning_effort above carries it to
// models that take it); they reach Anthropic replicas with the client's body.
// Errors (kBadRequest, "invalid_request"; the message names the field): not a JSON object,
// `model` / `max_tokens` / `messages` missing or of the wrong type, a role other than user or
// assistant, `temperature` or `top_p` not a number in [0, 1] or `top_k` not a non-negative integer
// (Anthropic's ranges; chat's temperature goes to 2), a block that is not an object with a string
// type, an image in an assistant message or without a base64 or url source, a tool_use without id
// or name, a tool_result without tool_use_id, a tool without name, output settings Anthropic
// refuses (api/messages_output.h).
Result<MessagesRequest> parse_messages_request(std::string_view body);

// A POST /v1/messages/count_tokens body: a Messages request without max_tokens (ignored when
// present, as `stream` is); chat_body has no max_tokens.
Result<MessagesRequest> parse_count_tokens_request(std::string_view body);

// `request` may be null (the request did not parse): only the error methods are used then.
std::unique_ptr<AnswerTranslator> messages_translator(const MessagesRequest* request);

// Metering an answer passed through natively from an Anthropic-compatible upstream (replica
// `api: anthropic`): the usage of a whole `message` body ({"usage":{"input_tokens",
// "output_tokens"}}), nullopt when absent or not JSON.
std::optional<Usage> anthropic_usage(std::string_view message_json);

// The same for a stream, fed each event's data: input tokens from message_start, output tokens
// from message_delta (its last value), text and input_json deltas counted, message_stop and error
// events noted.
class MessagesStreamMeter {
 public:
  void on_event(std::string_view data);
  std::optional<Usage> reported_usage() const;
  std::int64_t content_chunks() const { return chunks_; }
  bool saw_done() const { return done_; }
  bool saw_error() const { return error_; }
  // An event came before message_stop that is not a JSON object (events without data do not
  // count): the gateway ends the stream there as broken (pipeline/deliver.cc), as for chat.
  bool saw_bad_event() const { return bad_event_; }
  // The terminal or an error event came (one answer per stream: `choices` is not used).
  bool complete(std::int64_t /*choices*/ = 1) const { return done_ || error_; }

 private:
  std::optional<std::int64_t> input_, output_;
  std::int64_t cached_ = 0;   // cache_read_input_tokens
  std::int64_t written_ = 0;  // cache_creation_input_tokens
  std::int64_t chunks_ = 0;
  bool done_ = false, error_ = false, bad_event_ = false;
};

// Anthropic's error type for an error kind (invalid_request_error, authentication_error,
// permission_error, not_found_error, request_too_large, rate_limit_error, api_error,
// overloaded_error, timeout_error).
const char* anthropic_error_type(ErrorKind kind);
std::string anthropic_error_json(std::string_view type, std::string_view message);

}  // namespace switchboard::api
