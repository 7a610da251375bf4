// Chat completions over a replica that speaks another API (docs/apis.md): what serves a request
// the replica's own API cannot pass through (NativeApi::serving()). The chat-completions request
// the stages parsed — a multi-call plan's buffered body too — is translated into the replica's
// API and posted to its path with its credentials; the replica's answer — whole, streamed or an
// error — is read back as chat completions before anything else sees it (adapt()), so metering,
// deliver(), the cache, judges and the client's own front end work as with a chat replica.
// A stream is read within the model's bounds on the upstream's own bytes (max_stream_bytes, the
// line and event limits), and upstream events that translate to nothing (Anthropic's pings, a
// block the client is not shown) keep the relay alive: once half of a read's time has gone by,
// such an event is passed on as an SSE comment, so a replica that only sends keep-alives is not
// cut as idle while the client sees its stream go on.
// Refused (api_mismatch): embeddings, and requests the translation cannot carry (its message says
// what). One subclass per upstream API: anthropic_translated.cc, responses_translated.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/upstream_to_chat.h"
#include "pipeline/native/native_api.h"
#include "switchboard/result.h"

namespace switchboard::pipeline {

class TranslatedApi : public NativeApi {
 public:
  std::string refusal(const RequestContext& ctx, const CallState& st,
                      const Replica& replica) const override;
  std::string_view body(const RequestContext& ctx, CallState& st, std::string_view model,
                        config::ReasoningMode reasoning) const override;
  ResponseWriter& writer(const RequestContext& ctx) const override;
  std::optional<api::Usage> usage(std::string_view whole) const override;
  // A JSON object (its answers are chat completions translated here), then what the client's
  // API cannot carry (ResponseWriter::answer_problem(), as pipeline/native/chat_api.cc).
  api::AnswerCheck check_answer(const RequestContext& ctx, std::string_view whole) const override;
  std::optional<std::string> whole_as_stream(const RequestContext& ctx,
                                             std::string_view whole) const override {
    return chat_whole_as_stream(ctx, whole);  // its answers are read back as chat completions
  }
  std::unique_ptr<UsageMeter> stream_meter() const override;
  std::unique_ptr<UpstreamResponse> adapt(const RequestContext& ctx,
                                          const config::ModelConfig& model,
                                          std::unique_ptr<UpstreamResponse> r) const override;

 protected:
  // The replica's request for chat-completions `chat`, naming `model` (its only use of it: the
  // body's top-level "model"); kBadRequest when the translation cannot carry it.
  virtual Result<std::string> translate(std::string_view chat, std::string_view model) const = 0;
  // A reader of one call's answer to the request of `ctx`.
  virtual std::unique_ptr<api::UpstreamToChat> reader(const RequestContext& ctx) const = 0;

 private:
  // translate() of the chat body `st` sends to a model with `reasoning` (its reasoning_body()),
  // with an empty model name, made once per state and reasoning variant.
  const Result<std::string>& translation(const RequestContext& ctx, const CallState& st,
                                         config::ReasoningMode reasoning) const;
};

// The translating objects of the registered APIs that have one.
const NativeApi& chat_over_anthropic();
const NativeApi& chat_over_responses();

}  // namespace switchboard::pipeline
