// api::parse_chat_request on arbitrary bodies, and api::rewrite_model and the translation to an
// Anthropic Messages and OpenAI Responses requests (api::chat_to_messages_request,
// api::chat_to_responses_request) on the accepted ones. Properties: no crash or UB; an accepted
// request satisfies the documented bounds; rewriting the model of an accepted body gives a body
// that is accepted again with exactly the new model; adding or removing reasoning_effort keeps it
// an accepted request with the same prompt; a translation is a 400 or a JSON object
// naming the model (Messages: max_tokens ≥ 1 and a messages array; Responses: an input array).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/chat_request.h"
#include "api/chat_to_messages.h"
#include "api/chat_to_responses.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace switchboard;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = api::parse_chat_request(body);
  if (!req) {
    FUZZ_CHECK(req.error().kind == ErrorKind::kBadRequest);
    FUZZ_CHECK(req.error().code == "invalid_json" || req.error().code == "invalid_request");
    return 0;
  }
  FUZZ_CHECK(!req->model.empty() && req->model.size() <= api::kMaxModelBytes);
  FUZZ_CHECK(!req->max_tokens ||
             (*req->max_tokens >= 0 && *req->max_tokens <= api::kMaxOutputTokens));
  FUZZ_CHECK(req->message_count == req->messages.size() && req->message_count > 0);
  for (const auto& m : req->messages)
    FUZZ_CHECK(m.offset <= req->prompt_text.size() &&
               m.length <= req->prompt_text.size() - m.offset);
  FUZZ_CHECK(req->estimated_prompt_tokens >= 0);
  FUZZ_CHECK(req->tokens_needed() >= req->estimated_prompt_tokens);
  (void)req->user_text();

  const std::string renamed = api::rewrite_model(body, "fuzz/model\"\\");
  auto again = api::parse_chat_request(renamed);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->model == "fuzz/model\"\\");
  FUZZ_CHECK(again->prompt_text == req->prompt_text);
  FUZZ_CHECK(again->stream == req->stream && again->max_tokens == req->max_tokens);

  // A reasoning setting added (a model with `reasoning: on`) or removed (`off`): still an accepted
  // request with the same prompt, and the setting there or gone at its top level.
  const std::string with = api::with_reasoning_effort(body, "hi\"gh");
  auto effortful = api::parse_chat_request(with);
  FUZZ_CHECK(effortful.ok() && effortful->prompt_text == req->prompt_text);
  FUZZ_CHECK(api::has_reasoning_effort(with));
  const std::string without = api::without_reasoning_effort(with);
  auto plain = api::parse_chat_request(without);
  FUZZ_CHECK(plain.ok() && plain->model == req->model && plain->prompt_text == req->prompt_text);
  FUZZ_CHECK(plain->stream == req->stream && plain->max_tokens == req->max_tokens);
  FUZZ_CHECK(!api::has_reasoning_effort(without));
  // Nothing else changed: the same members (read by one parser on both sides) but the setting.
  auto before = nlohmann::ordered_json::parse(body, nullptr, false);
  auto after = nlohmann::ordered_json::parse(without, nullptr, false);
  if (!before.is_discarded() && before.is_object()) {
    before.erase("reasoning_effort");
    FUZZ_CHECK(after == before);
  }

  auto responses = api::chat_to_responses_request(body, "gpt\\");
  if (!responses) {
    FUZZ_CHECK(responses.error().kind == ErrorKind::kBadRequest);
  } else {
    const auto r = nlohmann::json::parse(*responses, nullptr, false);
    FUZZ_CHECK(r.is_object() && r["model"] == "gpt\\" && r["input"].is_array());
  }

  auto messages = api::chat_to_messages_request(body, "claude\"");
  if (!messages) {
    FUZZ_CHECK(messages.error().kind == ErrorKind::kBadRequest);
    return 0;
  }
  const auto m = nlohmann::json::parse(*messages, nullptr, false);
  FUZZ_CHECK(m.is_object() && m["model"] == "claude\"");
  FUZZ_CHECK(m["max_tokens"].is_number_integer() && m["max_tokens"].get<std::int64_t>() >= 1);
  FUZZ_CHECK(m["messages"].is_array());
  return 0;
}
