// The API an upstream replica speaks (`models[].replicas[].api`, docs/apis.md), as one registered
// object per API, in this folder: `chat` (OpenAI chat completions: every client API is translated
// to it), `anthropic` (Anthropic Messages) and `responses` (OpenAI Responses), the last two
// passing a client of the same API through natively. `anthropic` also serves every other client
// through the chat translation (anthropic_translated.cc: the chat request translated to Messages,
// the answer back to chat). A new upstream API is a new file here
// (`NativeApiRegistrar kRegister("name", &instance)`); the executor never branches on the name.
//
// Resolved once per replica when the runtime is built (ModelRuntime::apis); each model call asks
// the replica's API whether it can take the request (refusal), which path and body to send, and
// which writer the answer goes to; deliver() meters the answer through it (stream_meter, usage).
// Errors keep the client API's shape: they go through the front end's translator either way.
// Instances are stateless and shared by every worker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/answer_shape.h"
#include "api/sse.h"
#include "api/text_answer.h"
#include "config/config.h"
#include "switchboard/balancer.h"
#include "switchboard/registry.h"
#include "switchboard/response_writer.h"
#include "switchboard/upstream.h"

namespace switchboard::pipeline {

struct RequestContext;  // pipeline/request_context.h
struct CallState;       // pipeline/model_call.h

// A relayed stream's usage and end, read in the upstream API's event shapes (fed each event's
// data).
class UsageMeter {
 public:
  virtual ~UsageMeter() = default;
  virtual void on_event(std::string_view data) = 0;
  virtual std::optional<api::Usage> reported_usage() const = 0;
  virtual std::int64_t content_chunks() const = 0;  // deltas seen: the usage when none is reported
  virtual bool saw_done() const = 0;                // the stream's terminal event arrived
  virtual bool saw_error() const = 0;               // an error event arrived
  // The answer of `choices` choices came to its end (its API's terminal or error event; chat:
  // each choice's finish_reason too): a stream whose body ends before was cut short.
  virtual bool complete(std::int64_t choices) const = 0;
  // An event came that the meter could not read as its API's (not a JSON object): the stream is
  // broken there (deliver.cc). Meters that do not tell: false.
  virtual bool saw_bad_event() const { return false; }
};

// Any meter with those six members (api::StreamMeter, api::MessagesStreamMeter, ...).
template <typename Meter>
class MeterOf final : public UsageMeter {
 public:
  void on_event(std::string_view data) override { m_.on_event(data); }
  std::optional<api::Usage> reported_usage() const override { return m_.reported_usage(); }
  std::int64_t content_chunks() const override { return m_.content_chunks(); }
  bool saw_done() const override { return m_.saw_done(); }
  bool saw_error() const override { return m_.saw_error(); }
  bool complete(std::int64_t choices) const override { return m_.complete(choices); }
  bool saw_bad_event() const override {
    if constexpr (requires { m_.saw_bad_event(); }) return m_.saw_bad_event();
    else return false;
  }

 private:
  Meter m_;
};

// How the replica's key goes upstream: the Authorization value ("" = none) and other headers.
struct UpstreamCredentials {
  std::string authorization;
  std::vector<std::pair<std::string, std::string>> headers;
};

class NativeApi {
 public:
  virtual ~NativeApi() = default;
  virtual std::string_view name() const = 0;  // the `api:` value
  // Whether the client's RequestContext::passed_headers go to the replica with the request (a
  // pass-through of the client's own API; a translation never passes them).
  virtual bool passes_client_headers() const { return false; }
  // The object that serves this request on a replica speaking this API (asked first, once per
  // attempt): itself by default; an API may hand requests of other clients to a translating one.
  virtual const NativeApi& serving(const RequestContext&, const CallState&) const {
    return *this;
  }
  // The upstream's response as the rest of the executor reads it (metering, deliver(), multi-call
  // plans): unchanged by default; a translating API presents its answer in chat completions,
  // reading the upstream's stream within `model`'s stream bounds.
  virtual std::unique_ptr<UpstreamResponse> adapt(const RequestContext&,
                                                  const config::ModelConfig& /*model*/,
                                                  std::unique_ptr<UpstreamResponse> r) const {
    return r;
  }
  // Why this request cannot be sent to `replica` (which speaks this API); "" = it can. A refusal
  // is the attempt result api_mismatch (not a failure of the replica).
  virtual std::string refusal(const RequestContext& ctx, const CallState& st,
                              const Replica& replica) const = 0;
  // The path posted to (after the replica's base path) and the body, with `model` as the
  // upstream must see it, for a model with `reasoning` (config::ReasoningMode: what it does with
  // the request's reasoning setting); the body stays valid as long as `st`.
  virtual std::string_view path(const RequestContext& ctx) const = 0;
  virtual std::string_view body(const RequestContext& ctx, CallState& st, std::string_view model,
                                config::ReasoningMode reasoning) const = 0;
  // Where the answer goes: the client's writer in this API's shape.
  virtual ResponseWriter& writer(const RequestContext& ctx) const = 0;
  // What is wrong with a whole 200 answer `whole` (`problem` "" = nothing), to follow "answered
  // 200 with ", and its usage when the check read it (api/answer_shape.h). Default: only that it
  // is a JSON object's text (its braces).
  virtual api::AnswerCheck check_answer(const RequestContext& ctx, std::string_view whole) const;
  // A whole 200 answer `whole` (its shape checked) as the events of this API's stream, for a
  // streaming request the replica answered whole (a server that ignores `stream`): the client
  // asked for events and gets them. nullopt when this API cannot re-chunk its answers (default):
  // such an answer fails the attempt upstream_bad_answer (model_call.cc), since relaying JSON to a
  // client reading events gave it an empty answer, recorded ok.
  virtual std::optional<std::string> whole_as_stream(const RequestContext& ctx,
                                                     std::string_view whole) const;
  // Metering: a whole answer's usage (nullopt = none reported), and a meter for a stream.
  virtual std::optional<api::Usage> usage(std::string_view whole) const = 0;
  virtual std::unique_ptr<UsageMeter> stream_meter() const = 0;
  // The replica's key (without "Bearer "; "" = none) as this API takes it. Default: a bearer token.
  virtual UpstreamCredentials credentials(std::string_view key) const;
  // The finished text answer in an answer this API's replica sent natively to its client (a whole
  // body, or a stream's bytes), for the cache and sessions (pipeline/answer_tap.h); nullopt when
  // it is not one (api/text_answer.h). Default: none read.
  virtual std::optional<api::TextAnswer> answer(std::string_view captured, bool streamed) const;
};

// A native API: a client of the same API (RequestContext::native_api == name()) has its own body
// passed through, `model` renamed (api::rewrite_model), and gets the answer unchanged
// (RequestContext::native_client). Refused: clients of other APIs, multi-call plans' buffered
// calls, bodies the guard rewrote.
class PassThroughApi : public NativeApi {
 public:
  // Whether the request can be passed through (refusal() is "" for every replica of this API).
  bool passes_through(const RequestContext& ctx, const CallState& st) const;
  std::string refusal(const RequestContext& ctx, const CallState& st,
                      const Replica& replica) const override;
  std::string_view body(const RequestContext& ctx, CallState& st, std::string_view model,
                        config::ReasoningMode reasoning) const override;
  ResponseWriter& writer(const RequestContext& ctx) const override;
};

using NativeApiRegistry = Registry<const NativeApi*>;
using NativeApiRegistrar = Registrar<const NativeApi*>;

// whole_as_stream() for an answer in chat completions (a chat replica's, or one translated to chat):
// api::completion_body_as_sse with the client's include_usage.
std::optional<std::string> chat_whole_as_stream(const RequestContext& ctx, std::string_view whole);

// The registered API of that name; null when none.
const NativeApi* find_native_api(const std::string& name);

// "replica <public name> of <model>" (config::ReplicaConfig::label): how a refusal names a replica
// to the client, without its address.
std::string replica_label(const Replica& replica);

}  // namespace switchboard::pipeline
