// Whether a replica's whole 200 answer has the shape its API promises, before it is relayed: a
// chat completion's `choices` (each with a `message`), an embeddings list's `data`, an Anthropic
// message's `content`, a Responses object's `output`. A body with trailing bytes, `choices` of
// another type, or some other JSON object was relayed to chat clients as sent (and billed by its
// size); now the attempt fails `upstream_bad_answer` — retried elsewhere, counted against the
// replica's health — as a body that is no JSON object always did.
//
// Contract: pure, never throws; `problem` "" when the shape is right, else what is wrong ("a body
// that is not JSON (simdjson's reason)", "a JSON object without a `choices` array"), to follow
// "answered 200 with ". Answers up to 1 MiB are validated whole (one simdjson DOM parse: a
// per-thread parser up to 64 KiB, a parser of their own above); larger ones only for their braces,
// as before (their DOM would take ~12 times their size; their usage is left to the API's reader).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/sse.h"

namespace switchboard::api {

enum class AnswerShape { kChatCompletion, kEmbeddings, kAnthropicMessage, kResponse };

struct AnswerCheck {
  std::string problem;
  // A chat completion's usage, read from the same parse as api::parse_usage reads it (nullopt when
  // absent or null; fields that are not integers count 0), so the caller need not parse again.
  bool usage_read = false;
  std::optional<Usage> usage;
};

AnswerCheck check_answer(std::string_view body, AnswerShape shape);

}  // namespace switchboard::api
