// The OpenAI response bodies the replay backend sends, built with nlohmann-json. Each returns
// compact JSON text; invalid UTF-8 in recorded text is replaced by U+FFFD rather than failing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "replay/replay_core.h"

namespace switchboard::replay {

// Fields shared by a completion and all chunks of one stream.
struct CompletionHead {
  std::string id;            // "chatcmpl-..."
  std::string model;         // the model the request named
  std::int64_t created = 0;  // Unix seconds
};

// A whole "chat.completion" object with one choice (finish_reason "stop") and usage.
std::string completion_json(const CompletionHead& head, std::string_view text,
                            const TokenUsage& usage);

// "chat.completion.chunk" objects: the first (delta has role "assistant" and empty content), a
// content piece, the last (empty delta, finish_reason "stop"), and the usage chunk (empty choices).
std::string role_chunk_json(const CompletionHead& head);
std::string content_chunk_json(const CompletionHead& head, std::string_view piece);
std::string stop_chunk_json(const CompletionHead& head);
std::string usage_chunk_json(const CompletionHead& head, const TokenUsage& usage);

// GET /v1/models: a list holding the one model served.
std::string models_json(std::string_view model);

// Wraps JSON text as one server-sent event: "data: <json>\n\n".
std::string sse_event(std::string_view json);

}  // namespace switchboard::replay
