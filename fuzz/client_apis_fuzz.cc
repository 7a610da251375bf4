// The client APIs' request parsers on arbitrary bodies: api::parse_messages_request,
// parse_count_tokens_request (Anthropic Messages), parse_responses_request and
// parse_input_tokens_request (OpenAI Responses). Properties: no crash or UB; a refusal is a 400;
// an accepted request's chat body — what the stages parse and a chat replica gets — is itself an
// accepted chat-completions request naming the same model (a counting request may name none);
// `native_only` is empty or says which API's replicas may take the request.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/chat_request.h"
#include "api/messages.h"
#include "api/responses.h"
#include "fuzz_check.h"

namespace {

using namespace switchboard;

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

template <typename Parsed>
void check(const Result<Parsed>& r, std::string_view api, bool counting) {
  if (!r) {
    FUZZ_CHECK(r.error().kind == ErrorKind::kBadRequest);
    return;
  }
  FUZZ_CHECK(r->native_only.empty() ||
             ends_with(r->native_only, ": passed only to replicas with api: " + std::string(api)));
  auto chat = api::parse_chat_request(r->chat_body);
  if (counting && r->model.empty()) return;  // the chat body names the placeholder
  FUZZ_CHECK(chat.ok());
  FUZZ_CHECK(chat->model == r->model);
  FUZZ_CHECK(!counting || !chat->max_tokens);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check(api::parse_messages_request(body), "anthropic", false);
  check(api::parse_count_tokens_request(body), "anthropic", true);
  check(api::parse_responses_request(body), "responses", false);
  check(api::parse_input_tokens_request(body), "responses", true);
  return 0;
}
