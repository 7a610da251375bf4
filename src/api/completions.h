// The legacy OpenAI Completions API (POST /v1/completions) over a chat-completions upstream.
//
// Request: `model`, `prompt` (a string, or an array of exactly one string), `max_tokens`
// (default 16, as OpenAI's), `temperature`, `top_p`, `stop`, `stream`, `stream_options`, `seed`,
// `user`, `presence_penalty`, `frequency_penalty`. Refused (400): token-array prompts, several
// prompts, `n` or `best_of` other than 1, `echo` true, `suffix`, `logprobs`.
// Translated to one user message holding the prompt.
//
// Answers: a `text_completion` ({choices:[{text, index, logprobs:null, finish_reason}], usage});
// a stream of `text_completion` chunks (the usage chunk when stream_options.include_usage), then
// "data: [DONE]". Errors are OpenAI's.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/answer_translator.h"
#include "switchboard/result.h"

namespace switchboard::api {

struct CompletionsRequest {
  std::string model;
  bool stream = false;
  // The client asked for a usage chunk (stream_options.include_usage). The chat body always asks
  // the upstream for usage, so that records and budgets see its counts; the translator passes the
  // usage chunk on only when asked.
  bool include_usage = false;
  std::string chat_body;
};

Result<CompletionsRequest> parse_completions_request(std::string_view body);
std::unique_ptr<AnswerTranslator> completions_translator(const CompletionsRequest* request);

}  // namespace switchboard::api
