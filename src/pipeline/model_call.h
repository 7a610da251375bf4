// Calling one model: replica choice, retries on other replicas under the retry budget, outlier
// ejection, hedging — the model-call mechanics every plan runner (pipeline/plans/) shares.
//
// call_model() tries replicas of one model until one gives an answer worth passing on (anything but
// a failure, a 5xx or a 429), at most retry.max_attempts times, each retry only if the model's
// retry budget allows; non-streaming requests may be hedged. Every try and skip is appended to the
// decision record's `attempts` (vocabulary in docs/pool.md) and reported to the replica's health.
// Runs on the request's worker; never throws except on cancellation.
#pragma once

#include <forward_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/native/native_api.h"
#include "pipeline/request_context.h"
#include "pool/pool.h"

namespace switchboard::pipeline {

// Keeps a replica's in-flight count (the balancers' load signal) exact on every exit path.
class InFlight {
 public:
  InFlight() = default;
  explicit InFlight(std::atomic<std::int64_t>& n) : n_(&n) {
    n_->fetch_add(1, std::memory_order_relaxed);
  }
  InFlight(InFlight&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  InFlight& operator=(InFlight&& o) noexcept {
    if (this != &o) {
      reset();
      n_ = std::exchange(o.n_, nullptr);
    }
    return *this;
  }
  ~InFlight() { reset(); }
  void reset() {
    if (n_) n_->fetch_sub(1, std::memory_order_relaxed);
    n_ = nullptr;
  }

 private:
  std::atomic<std::int64_t>* n_ = nullptr;
};

// One try of one replica. Owns the replica's in-flight count until destroyed (so a stream relayed
// from it keeps counting) and, once answered, the upstream response.
struct Attempt {
  const ModelRuntime* model = nullptr;
  Replica* replica = nullptr;
  InFlight in_flight;
  std::unique_ptr<UpstreamResponse> call;  // the response head arrived
  std::optional<std::string> body;         // non-streaming requests: the whole body
  // A streaming request the replica answered whole (200, not text/event-stream): `body` as the
  // events of the client's stream (NativeApi::whole_as_stream), which deliver() sends instead.
  std::optional<std::string> restreamed;
  // The body's usage, when the check of its shape read it (NativeApi::check_answer).
  bool usage_read = false;
  std::optional<api::Usage> usage;
  std::optional<Error> error;              // no (complete) answer
  Clock::time_point sent_at;
  double head_ms = 0;  // sent → response head
  double ms = 0;       // sent → answer (head for streams, whole body otherwise) or failure
  bool cancelled = false;
  bool sent = false;  // the request was written whole to the replica (ModelCall::sent)
  int resent = 0;     // copies sent again after a stale pooled connection (ModelCall::resent)
  // The API the replica speaks (pipeline/native/): how the answer is metered and where it goes
  // (deliver()). Set with `replica`.
  const NativeApi* api = nullptr;
  // Not sent: the replica speaks another API than this request can use (error api_mismatch);
  // says nothing about the replica's health.
  bool api_mismatch = false;
  // What was sent: the body (a view valid as long as the CallState), the model's name as the
  // upstream knows it, and the reasoning mode the body was made with.
  std::string_view sent_body, upstream_name;
  config::ReasoningMode reasoning = config::ReasoningMode::kAuto;
  // Its entry in the decision record's attempts (note_attempt), when noted.
  std::optional<std::size_t> record;

  // Worth another replica: no answer, a 5xx, or 429 (that replica is busy).
  bool retryable() const {
    return cancelled || error || (call && (call->status() >= 500 || call->status() == 429));
  }
  // Counts against the replica's health: no answer or a 5xx (a 429 is a load signal, not a fault).
  bool replica_failed() const { return error || (call && call->status() >= 500); }
  std::string result() const;
};

// A whole answer's first and last non-blank bytes are braces: every API answers with a JSON
// object, and this cheap check (on every answer) tells one from a proxy's HTML page or a plain-text
// message. A body cut short is caught by its framing when read.
bool looks_like_json_object(std::string_view body);

// Counts a failure against `a`'s replica (its health, and an ejection: metric and log) after it
// answered with `result` (an error code): its attempt, or an answer found broken after it.
void count_replica_failure(RequestContext& ctx, const Attempt& a, std::string_view result);

// State shared by the calls of one request (across the models of a plan).
struct CallState {
  bool first = true;                  // no attempt yet: the next one is not a retry
  std::vector<std::uint64_t> blocks;  // the prompt's prefix block hashes; outlive each pick
  std::vector<const Replica*> tried;  // replicas of the current model this request tried
  pool::CandidateBuffer buffer;
  // The body with `model` renamed, per name. A list, so that a view handed out stays valid while
  // another rename is added: a hedge to a replica with another upstream_model must not move the
  // bytes an attempt still in flight is writing (upstream requests hold views, not copies).
  std::forward_list<std::pair<std::string, std::string>> rewritten;  // {name, body}
  // Multi-call plans (pipeline/plans/): the body every call of this state sends instead of the
  // client's (before the model rename), read whole, never relayed as a stream (stream false).
  std::optional<std::string> buffered;
  // The request translated for replicas of another upstream API (pipeline/native/
  // translated_api.h) — or why the translation cannot carry it — once per API, reasoning variant
  // and state, with an empty model name that each call's body renames. A memo, so filled
  // from const paths too (refusal() is asked for every replica).
  mutable std::forward_list<std::pair<std::string, Result<std::string>>> translations;
  // The body as the upstream named `name`, of a model with `reasoning`, must see it (the client's
  // when the name is the same and reasoning_body() changes nothing). Valid as long as this
  // CallState.
  std::string_view body_for(const RequestContext& ctx, std::string_view name,
                            config::ReasoningMode reasoning);
  // `body` (a chat body handed out by this state or the request's) asking the server to continue
  // the assistant's last turn (`continue_final_message: true, add_generation_prompt: false`), made
  // once per body; valid as long as this CallState.
  std::string_view continuing(std::string_view body);
  // Whether calls of this state ask the upstream for a stream.
  bool streams(const RequestContext& ctx) const { return !buffered && ctx.req.stream; }
};

// The chat body `base` as a model with `reasoning` gets it (config::ReasoningMode): with the
// client API's reasoning setting as reasoning_effort (kOn, RequestContext::reasoning_effort),
// without a chat client's reasoning_effort (kOff); nullopt = unchanged.
std::optional<std::string> reasoning_body(const RequestContext& ctx, std::string_view base,
                                          config::ReasoningMode reasoning);
// Whether reasoning_body() changes `base` (cheap: no copy).
bool reasoning_changes(const RequestContext& ctx, std::string_view base,
                       config::ReasoningMode reasoning);

// What the tries that ended without an answer had cost: the losing try of a hedge and a try a
// plan's deadline stopped (result `cancelled`), a try the client left (`client_gone`), and a try
// that timed out after the replica had the whole request (`upstream_timeout`, AttemptRecord::sent:
// the replica may have run it to its end). Each is charged its prompt — `prompt_tokens` (an
// estimate) at its model's input price; what it generated is not known and is not charged. Over
// ctx.rec.attempts from `from` on, of model `model` ("" = any).
struct CutCharge {
  std::size_t tries = 0;
  std::int64_t prompt_tokens = 0;
  double cost_usd = 0;
};
CutCharge cut_tries_charge(const RequestContext& ctx, std::size_t from, std::string_view model,
                           std::int64_t prompt_tokens);
// Adds `c` to the request's record (tokens, cost; tokens_source `estimated` when it charged any).
void add_cut_charge(RequestContext& ctx, const CutCharge& c);

struct ModelCallResult {
  std::optional<Attempt> answer;  // a good answer (not retryable)
  std::optional<Attempt> held;    // the last 5xx/429 answer, passed on if nothing better comes
  std::optional<Error> error;     // the last failure without an answer
  bool stop = false;              // the retry budget refused a retry: try no other model
  bool sent = false;              // an attempt went out (no healthy replica, or only refusals: none)
};

// `last` = no other model follows in the plan: when no replica is healthy, try one anyway.
asio::awaitable<ModelCallResult> call_model(RequestContext& ctx, CallState& st,
                                            const ModelRuntime& m, bool last);

}  // namespace switchboard::pipeline
