// What identifies a chat request for the cache, and whether it may be cached at all.
//
// The request is normalised before hashing: JSON whitespace and the order of top-level keys do not
// matter, message texts are trimmed (whitespace inside them counts: indentation is code's
// meaning; the semantic guards compare the last text with its runs collapsed), and the
// fields that do not change the answer are left out: `model` (the route; routes sharing a cache
// share answers on purpose), `stream`, `stream_options`, `user`, `metadata`, `store`,
// `service_tier`, `n` when 1. Every other top-level field (temperature, max_tokens, seed,
// response_format, stop, top_p, ...) is part of the key with its exact value.
//
//   partition  everything except the last message's text: the parameters, every earlier message,
//              the last message's role. A semantic match is looked for only among entries of the
//              same partition (same system prompt, same history, same parameters).
//   exact      partition + the last message's trimmed text (128 bits).
//
// A message with fields beyond role and text (tool_calls, tool_call_id, name, non-text parts) is
// keyed whole, with its tool call ids replaced by their order of first appearance in the request
// (an agent's turn after a cached tool call matches whatever ids that call got).
//
// Deterministic: temperature absent or 0, no legacy `functions`, n absent or 1. `logprobs` asked
// for is reported: a cached answer keeps none to give back (the cache stage bypasses). `tools` is
// reported (has_tools): the cache stage matches such requests exactly only. Contract:
// normalise() reads the raw body (already validated by api::parse_chat_request) with simdjson;
// errors only for a body that is not a JSON object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "switchboard/result.h"

namespace switchboard::cache {

struct Key128 {
  std::uint64_t hi = 0, lo = 0;
  bool operator==(const Key128&) const = default;
  std::string hex() const;
};
struct Key128Hash {
  std::size_t operator()(const Key128& k) const { return k.hi ^ (k.lo * 0x9e3779b97f4a7c15ull); }
};

struct NormalisedRequest {
  Key128 exact;
  std::uint64_t partition = 0;
  std::string last_text;  // the last message's normalised text (what guards compare)
  bool deterministic = true;
  std::string not_deterministic;  // why not: "temperature", "functions", "n"
  bool has_tools = false;         // a non-empty `tools`
  bool multiple_choices = false;  // n > 1: never cached (one answer is stored)
  bool logprobs = false;          // logprobs: true: never cached (no logprobs are stored)
};

// `scope`, when not empty, is hashed into both keys first: requests of different scopes (API keys,
// teams, routing objectives: pipeline/stages/cache_stage.cc) never share an entry. "" keys as
// before scopes existed.
Result<NormalisedRequest> normalise(std::string_view body, const api::ChatRequest& req,
                                    std::string_view scope = {});

// Collapses whitespace runs to one space, trims both ends.
std::string collapse_whitespace(std::string_view text);
// Trims whitespace from both ends (what the keys hash of a message's text).
std::string_view trim_whitespace(std::string_view text);

}  // namespace switchboard::cache
