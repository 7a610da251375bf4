// API front ends: each client API the gateway speaks is a FrontEnd registered under its path
// (`FrontEndRegistrar kRegister("/v1/messages", ...)` in src/pipeline/fronts/<api>_front.cc), so a
// new API is one new file. The gateway (gateway.cc) looks the request's path up in the registry
// and runs the same stages for every front end: parse → guard → cache → signals → decide →
// execute → record.
//
// A front end does no translation itself: it calls the api module's pure functions (src/api/:
// request to chat completions, answers back, stream events) and says what the stages need. The
// executor keeps speaking chat completions to OpenAI-compatible upstreams; the answers go back
// through a TranslatingWriter (translating_writer.h) in the API's shape, errors included.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/answer_translator.h"
#include "api/conversation_capture.h"
#include "pipeline/request_context.h"
#include "switchboard/registry.h"
#include "switchboard/result.h"

namespace switchboard::pipeline {

// What a front end makes of one request body, before `parse`.
struct FrontRequest {
  // The body the stages parse and the upstream gets (a chat-completions request for translated
  // APIs); nullopt = the client's body unchanged.
  std::optional<std::string> body;
  // Turns the upstream's answers and the gateway's errors into the API's shape; null = answers and
  // errors go out unchanged (OpenAI's shape).
  std::unique_ptr<api::AnswerTranslator> translator;
  // The request is malformed for this API: `parse` fails with it (a 400 in the API's shape,
  // recorded like any other).
  std::optional<Error> error;
  // Why only a replica speaking native_api() can answer it ("" = any can): `body` left out parts
  // the translation cannot carry. Every other replica refuses it (api_mismatch) with this reason,
  // and the cache is bypassed (its key is read from `body`).
  std::string native_only;
  // The body a replica speaking native_api() gets, when not the client's own (parts no native
  // server takes left out, e.g. api/messages.h MessagesRequest::native_body); nullopt = the
  // client's.
  std::optional<std::string> native_body;
  // The request's reasoning setting as chat's reasoning_effort ("" = none), sent to models with
  // `reasoning: on` only (pipeline/model_call.h, CallState::body_for).
  std::string reasoning_effort;
  // The client's last turn is the assistant's text to be continued (an Anthropic prefill):
  // RequestContext::continue_last_turn.
  bool continues_last_turn = false;
};

class FrontEnd {
 public:
  virtual ~FrontEnd() = default;
  // Called once per request on the worker; must not block. Never throws on any body.
  virtual FrontRequest translate(std::string_view body) const = 0;
  // How `parse` reads the body and which upstream path the executor calls.
  virtual RequestKind kind() const { return RequestKind::kChat; }
  virtual std::string_view upstream_path() const { return "/v1/chat/completions"; }
  // The API's name in decision records (`api`) and in `apis:` settings: chat, responses, messages,
  // completions, embeddings.
  virtual std::string_view name() const = 0;
  // The `api:` of replicas that take this API's requests natively (the client's body passed
  // through, the answer sent back unchanged; pipeline/native/); "" = none.
  virtual std::string_view native_api() const { return {}; }

  // Stored conversations (the Responses API's previous_response_id; docs/apis.md), for APIs that
  // have them, when `apis.<name>.store` allows: what the request asks (lenient, before
  // translate()), the body continued from a stored conversation's items, and a capture of the
  // conversation the answer adds.
  virtual api::ConversationRequest conversation(std::string_view) const { return {}; }
  virtual Result<std::string> continue_from(std::string_view body, std::string_view) const {
    return std::string(body);
  }
  virtual std::unique_ptr<api::ConversationCapture> capture(std::string_view) const {
    return nullptr;
  }
  // The body's references to items of stored responses (the Responses API's item_reference),
  // resolved by the gateway before translate(); null = the API has none.
  virtual std::unique_ptr<api::ItemReferences> references(std::string_view) const {
    return nullptr;
  }
};

using FrontEndFactory = std::function<std::unique_ptr<FrontEnd>()>;
using FrontEndRegistry = Registry<FrontEndFactory>;  // keyed by the path served ("/v1/messages")
using FrontEndRegistrar = Registrar<FrontEndFactory>;

}  // namespace switchboard::pipeline
