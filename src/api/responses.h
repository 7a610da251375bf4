// The OpenAI Responses API (POST /v1/responses) over an OpenAI chat-completions upstream.
//
// Request: `model`, `input` (a string, or items: messages {role, content: string or
// input_text/output_text parts, and input_image parts with an image_url in user messages — sent as
// chat image_url parts}, function_call, function_call_output), `instructions` (a system
// message first), `max_output_tokens`, `temperature`, `top_p`, `stream`, `tools` (type function
// only), `tool_choice` (allowed_tools as chat's), `parallel_tool_calls`, `text.format` (text,
// json_object, json_schema), `text.verbosity` (chat's verbosity), `user`, `include` (message.output_text.logprobs, with `top_logprobs`: token logprobs on the
// answer's output_text, whole and streamed; other values are ignored); `reasoning.effort` is kept
// apart (reasoning_effort below); `store`, `metadata`, `truncation`, `max_tool_calls` (built-in
// tools only) and the rest of `reasoning` are accepted and ignored here. An `item_reference` the
// gateway did not resolve (api/responses_references.h) is a 400 when it names an item the gateway
// made, left out when it names reasoning, native-only otherwise; a `prompt` template is
// native-only.
// Streams: an event that is not JSON ends the client's stream with an error event
// (stream_failure());
// text that arrives while a function call is open is held and given after the call.
// `previous_response_id` is refused (400 unsupported_parameter): with stored conversations on
// (`apis.responses.store`), the gateway replaces it by the stored items before this parse
// (api/responses_conversation.h). Reasoning items are left out; parts chat cannot carry make the
// request native-only (below).
//
// Answers: a chat.completion becomes a `response` (status completed, or incomplete with reason
// max_output_tokens; output: a reasoning item with the replica's reasoning as one reasoning_text
// part when it reasoned (api/chat_reading.h), a message item with one output_text part, then
// function_call items; usage input (cached), output (reasoning) and total tokens). A chunk stream
// becomes response.created, response.in_progress, then per item response.output_item.added,
// (response.content_part.added, response.reasoning_text.delta* or response.output_text.delta*,
// response.reasoning_text.done or response.output_text.done, response.content_part.done) or
// (response.function_call_arguments.delta*, response.function_call_arguments.done),
// response.output_item.done, and finally response.completed (or response.incomplete), each with
// a sequence_number. Errors are OpenAI's {"error":{...}}; in a stream, an `error` event.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/answer_translator.h"
#include "switchboard/result.h"

namespace switchboard::api {

struct ResponsesRequest {
  std::string model;
  bool stream = false;
  std::string instructions;  // "" = none
  std::optional<std::int64_t> max_output_tokens;
  std::string chat_body;  // the equivalent chat-completions request
  // Why only a replica speaking the Responses API can answer it ("" = any can): the first part
  // chat completions cannot carry (a built-in or custom tool, a file input, an input item of
  // another type than message, function_call, function_call_output or reasoning). chat_body
  // leaves such parts out; it is what routing reads.
  std::string native_only;
  // The client asked for the answer's token logprobs (`include` holds
  // "message.output_text.logprobs", or `top_logprobs` is 1 or more): chat_body asks for them
  // (`logprobs`, `top_logprobs`), and the answer's output_text parts and text deltas carry them.
  bool logprobs = false;
  // `reasoning.effort` ("" = none), for models that take chat's reasoning_effort (`reasoning: on`
  // in their config); not in chat_body, as a route may pick a model without reasoning.
  std::string reasoning_effort;
  // The request's settings a response object repeats (OpenAI's do), as a JSON object's text:
  // tools, tool_choice, text, metadata, temperature, top_p, parallel_tool_calls — those sent.
  std::string echoed = "{}";
};

// `reasoning` items of the input are left out of chat_body (chat completions take no reasoning
// back), and so is the `reasoning` setting (a route may pick a model that has none; chat's
// reasoning_effort is refused by models without reasoning).
// Errors (kBadRequest; code invalid_request, or unsupported_parameter for previous_response_id;
// the message names the field).
Result<ResponsesRequest> parse_responses_request(std::string_view body);

// A POST /v1/responses/input_tokens body: a Responses request whose `model` and `input` may be
// absent (model "" then; no input counts as an empty one). previous_response_id and
// conversation are refused (unsupported_parameter).
Result<ResponsesRequest> parse_input_tokens_request(std::string_view body);

// `request` may be null (the request did not parse): only the error methods are used then.
std::unique_ptr<AnswerTranslator> responses_translator(const ResponsesRequest* request);

}  // namespace switchboard::api
