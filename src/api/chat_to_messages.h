// OpenAI chat completions over an Anthropic Messages upstream (a replica with `api: anthropic`
// serving a client that is not itself an Anthropic client; docs/apis.md): the request translated
// to a Messages request, and the upstream's answers — whole, streamed, errors — translated back to
// chat completions, so that everything after the upstream (metering, the cache, judges, the
// client's own front end) sees a chat answer.
//
// Request mapping: system and developer messages → `system` (text joined by blank lines); user
// messages → user turns (text parts, images as `image_url` data URLs → base64 image blocks, other
// URLs → url image blocks, file parts with base64 file_data → document blocks titled with the
// file name); assistant messages → assistant turns (text, `tool_calls` → tool_use
// blocks with the arguments parsed as JSON); `tool` messages → tool_result blocks in a user turn;
// consecutive turns of one role are merged (Anthropic's turns alternate). max_tokens /
// max_completion_tokens → max_tokens (kDefaultMaxTokens when the request sets neither: Anthropic
// requires one); temperature (clamped to Anthropic's [0, 1]), top_p, stop → stop_sequences,
// stream, tools (function tools → {name, description, input_schema}), tool_choice (auto, required
// → any, none, a named function → tool), parallel_tool_calls false → disable_parallel_tool_use,
// user → metadata.user_id; a JSON response_format (json_object, json_schema) → one forced tool
// (structured_output_tool(): the schema's name, its schema as the input schema), whose input is
// read back as the answer's content; reasoning_effort → extended thinking with the budget of
// kThinkingBudgets, at most half of the client's max_tokens (without one, max_tokens is the budget
// + kDefaultMaxTokens); temperature, and top_p below 0.95, are left out (Anthropic takes neither
// with thinking). No thinking when a tool is forced, the last assistant turn called tools
// (Anthropic wants its signed thinking back, which chat cannot carry), the last turn is the
// assistant's (a prefill), half of max_tokens is below kMinThinkingBudget, or the effort is "none"
// or unknown. A model without extended thinking (Claude 3.5 and older) refuses `thinking`: send
// such a model no reasoning_effort. Refused (translate() errors, kBadRequest
// "unsupported_for_anthropic"): n > 1, logprobs, audio parts, file parts by file_id, a non-function
// tool, a JSON response_format with tools or whose schema's root is not an object, a malformed
// message.
//
// Answers: a `message` becomes a chat.completion (text joined, tool_use → tool_calls with the
// input as JSON text; stop_reason end_turn / stop_sequence → stop (the stop sequence as the
// choice's `stop_reason`, as vLLM reports it), max_tokens → length, tool_use
// → tool_calls, refusal → content_filter; usage input + cache tokens → prompt_tokens, output →
// completion_tokens); thinking blocks become the message's `reasoning_content` (redacted ones are
// left out). A stream's events become chat.completion.chunk events (role first, thinking deltas
// as reasoning_content, text deltas, tool call starts and argument deltas by tool index, the finish
// reason, usage — as its own choice-less chunk when the client asked stream_options.include_usage,
// else on the finishing chunk), then [DONE]; an `error` event becomes a chunk carrying `error`.
// Pure, no I/O; never throws on any input (upstream bodies are untrusted).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "api/chat_chunks.h"
#include "api/upstream_to_chat.h"
#include "switchboard/result.h"

namespace switchboard::api {

inline constexpr std::int64_t kDefaultMaxTokens = 4096;
// Extended thinking's budget per chat `reasoning_effort` (at most half of max_tokens), and the least
// Anthropic takes.
inline constexpr std::pair<const char*, std::int64_t> kThinkingBudgets[] = {
    {"minimal", 1024}, {"low", 2048}, {"medium", 8192}, {"high", 24576}};
inline constexpr std::int64_t kMinThinkingBudget = 1024;
// The forced tool's name when a json_schema has no name Anthropic takes as a tool name.
inline constexpr const char* kStructuredOutputTool = "json_response";

// The Messages request for chat-completions `chat_body`, naming `model`.
Result<std::string> chat_to_messages_request(std::string_view chat_body, std::string_view model);

// The forced tool a chat request's JSON response_format becomes over Anthropic; "" when it has
// none.
std::string structured_output_tool(std::string_view chat_body);

// A whole `message` body as a chat.completion; kUpstreamError "upstream_bad_answer" when it is not
// a message. With `output_tool` (structured_output_tool()), that tool's call is the answer: its
// input as the content (JSON text, keys in the order written), finish_reason stop when the model
// ended on it (tool_use; max_tokens is still length); text blocks beside it are left out.
Result<std::string> messages_to_chat_completion(std::string_view message_json,
                                                std::string_view output_tool = {});

// An Anthropic error body ({"type":"error","error":{"type","message"}}) in OpenAI's error shape; a
// body of another shape becomes an OpenAI error carrying its first 512 bytes.
std::string messages_error_to_openai(std::string_view body);

// A Messages event stream as chat.completion.chunk events: fed each event's data, in order.
class MessagesToChatStream {
 public:
  // `include_usage`: the client asked for a separate usage chunk (stream_options.include_usage).
  // `output_tool`: as for messages_to_chat_completion(); its input's deltas are content deltas.
  explicit MessagesToChatStream(bool include_usage, std::string output_tool = {})
      : include_usage_(include_usage), output_tool_(std::move(output_tool)) {}
  // The chat SSE bytes ("data: ...\n\n" events) for one upstream event's data (maybe none);
  // message_stop gives the last ones and "data: [DONE]"; whatever comes after it (or after an
  // error event) is dropped.
  std::string event(std::string_view data);
  // message_stop or an error event came.
  bool finished() const { return stopped_; }

 private:
  static constexpr int kOutputBlock = -3;    // block_tool_ of the output tool's block
  static constexpr int kThinkingBlock = -4;  // block_tool_ of a thinking block
  bool include_usage_;
  std::string output_tool_;
  bool structured_ = false;  // the output tool's block came
  ChatChunkWriter out_;
  ChatUsage usage_;
  int tools_ = 0;           // tool_use blocks started so far
  int block_tool_ = -1;     // the open block's tool index (-1: a text or other block)
  std::string stop_reason_;
  bool started_ = false;
  bool stopped_ = false;  // message_stop or an error came: nothing follows
};

// The three above as one reader (pipeline/native/anthropic_translated.cc).
std::unique_ptr<UpstreamToChat> messages_to_chat(bool include_usage, std::string output_tool = {});

}  // namespace switchboard::api
