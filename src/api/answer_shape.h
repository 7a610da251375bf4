// Whether a replica's whole 200 answer has the shape its API promises, before it is relayed: a
// chat completion's `choices` (each with a `message`), an embeddings list's `data`, an Anthropic
// message's `content`, a Responses object's `output`. A body with trailing bytes, `choices` of
// another type, or some other JSON object was relayed to chat clients as sent (and billed by its
// size); now the attempt fails `upstream_bad_answer` — retried elsewhere, counted against the
// replica's health — as a body that is no JSON object always did.
//
// Contract: pure, never throws; "" when the shape is right, else what is wrong ("a body that is
// not JSON (simdjson's reason)", "a JSON object without a `choices` array"), to follow
// "answered 200 with ". Validates the whole
// document (one simdjson DOM parse; a per-thread parser for bodies up to 1 MiB, a fresh one for
// larger, so no thread keeps a large buffer).
#pragma once

#include <string>
#include <string_view>

namespace switchboard::api {

enum class AnswerShape { kChatCompletion, kEmbeddings, kAnthropicMessage, kResponse };

std::string answer_shape_problem(std::string_view body, AnswerShape shape);

}  // namespace switchboard::api
