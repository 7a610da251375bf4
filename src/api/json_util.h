// Small helpers shared by the API translators (responses, messages, completions, embeddings).
#pragma once

#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/result.h"

namespace switchboard::api {

// Compact JSON text; invalid UTF-8 in strings is replaced, so this never throws.
inline std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// 400 `invalid_request` with `message` (which names the offending field).
// At most `max_bytes` of `text`, cut at a UTF-8 character's start, with "..." added when cut (for
// quoting an upstream's text in an error message).
inline std::string quoted_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

inline Error invalid_request(const std::string& message) {
  return make_error(ErrorKind::kBadRequest, "invalid_request", message);
}

// Nesting bound of JSON from outside (upstream answers and their stream events, strings a client
// sends that hold JSON, stored conversations): nlohmann's parser is iterative, but copying, dumping
// and comparing a value recurse, and 70,000 levels (140 KB) overflowed the stack.
inline constexpr std::size_t kMaxJsonDepth = 1024;
// True when no array or object in `text` nests deeper than `limit` (brackets inside strings do
// not count). One linear pass; says nothing else of validity.
bool json_nesting_within(std::string_view text, std::size_t limit = kMaxJsonDepth);
// A key repeated within one object anywhere below the top level of `doc` (compared unescaped),
// or nullopt. Parsers disagree on which of two equal keys counts — simdjson's lookups here take the
// first, most clients' and servers' the last — so a message with two `content` keys showed the
// guard, the cache key and the routing rules one text and the upstream another. Linear in the
// document; objects of up to 16 keys are compared pairwise, larger ones sorted.
std::optional<std::string> nested_duplicate_key(const simdjson::dom::element& doc);

// The minified value of top-level member `key` of the JSON object `body` (nullopt when absent,
// null, or `body` is no object).
std::optional<std::string> top_level_value(std::string_view body, std::string_view key);
// `body` (a JSON object) with "`key`": `raw` (JSON text) as its first member; unchanged when it is
// not an object. `key` is written as is (no escaping: a literal key).
std::string with_first_member(std::string_view body, std::string_view key, std::string_view raw);

// The values inside `doc`'s arrays and objects (members and elements, at every depth): what a
// parsed or translated form of it holds one node for each of. Linear in its containers.
std::size_t json_values(const simdjson::dom::element& doc);
// The same of JSON text (0 when it is not JSON).
std::size_t json_values(std::string_view text);

// simdjson's error for an unparsable body, with where a number error is when it is one: simdjson
// only says "Problem while parsing a number", so the text is scanned for the first number JSON or
// a double cannot hold, named with the key before it (`"temperature": 1e999`).
std::string json_error_message(std::string_view body, simdjson::error_code error);

// Parses JSON from outside without throwing: a discarded value (is_discarded()) when `text` is not
// JSON or nests deeper than kMaxJsonDepth. Every parse of such text goes through here.
template <typename Json = nlohmann::json>
Json parse_json(std::string_view text) {
  if (!json_nesting_within(text)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// Reading untrusted JSON without throwing: `key` of an object, when it has the wanted type.
// member(): a null json when `j` is not an object or has no `key`.
const nlohmann::json& member(const nlohmann::json& j, const char* key);
// string_at(): "" when absent or not a string.
std::string string_at(const nlohmann::json& j, const char* key);
// int_at(): nullopt when absent or not an integer.
std::optional<std::int64_t> int_at(const nlohmann::json& j, const char* key);

// A chat message's (or stream delta's) `content` as text: the string, or — from servers that
// answer with an array of parts (Mistral's reasoning models) — the `text` of its "text" parts
// joined; "" otherwise (null, absent, another type).
std::string chat_content_of(const nlohmann::json& message);
// A chat message's (or stream delta's) reasoning, under either name servers give it
// (`reasoning_content`, else `reasoning`), else the text of `thinking` parts of an array
// `content` (each `{"type": "thinking", "thinking": [text parts]}`); "" when none.
std::string chat_reasoning_of(const nlohmann::json& message);
// The `signature` of its only `thinking_blocks` entry (LiteLLM's field for Claude's extended
// thinking; the response cache writes it too); "" when there is none, or more than one (the
// reasoning is then their texts joined, which no one signature signs).
std::string chat_thinking_signature_of(const nlohmann::json& message);
// The stop string that ended a chat choice, as OpenAI-compatible servers report it beside
// finish_reason "stop": vLLM's `stop_reason`, SGLang's `matched_stop` (the response cache writes
// `stop_reason`); "" when neither is a string (null, or an integer: a stop token's id).
std::string chat_matched_stop_of(const nlohmann::json& choice);
// Parses a request body that must be one JSON object whose top-level keys are all distinct: 400
// `invalid_json` when it is not JSON, `invalid_request` when it is not an object or repeats a key
// (named: a repeated "model" would otherwise route by one value and bill by another).
Result<nlohmann::json> parse_request_object(std::string_view body);

}  // namespace switchboard::api
