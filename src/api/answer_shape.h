// Whether a replica's whole 200 answer has the shape its API promises, before it is relayed: a
// chat completion's `choices` (each with a `message`), an embeddings list's `data`, an Anthropic
// message's `content`, a Responses object's `output`. A body with trailing bytes, `choices` of
// another type, or some other JSON object was relayed to chat clients as sent (and billed by its
// size); now the attempt fails `upstream_bad_answer` — retried elsewhere, counted against the
// replica's health — as a body that is no JSON object always did.
//
// Contract: pure, never throws; `problem` "" when the shape is right, else what is wrong ("a body that is
// not JSON (simdjson's reason)", "a JSON object without a `choices` array"), to follow
// "answered 200 with ". Validates the whole
// document (one simdjson DOM parse; a per-thread parser for bodies up to 1 MiB, a fresh one for
// larger, so no thread keeps a large buffer).
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
