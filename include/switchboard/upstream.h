// Model calls: how the executor reaches a model's replica.
//
// Two implementations: the HTTP client pool when serving (src/pipeline/http_upstream.h), and
// recorded outcomes answered in-process when evaluating offline (src/replay/recorded_upstream.h).
// The executor (replica choice, retries, hedging, streaming relay, metering) is the same for both,
// so `switchboard eval` measures exactly what `switchboard serve` does.
//
// Contract: start() sends one request to one replica and completes when the response head has
// arrived (or failed); errors are values: upstream_unreachable, upstream_bad_answer and
// upstream_bad_request (kUpstreamError), upstream_timeout (kUpstreamTimeout), cancelled (the
// call's CallCanceller). An UpstreamResponse is used by one coroutine at a time.
// Both run on the request's worker thread; an Upstream is not shared between workers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "switchboard/result.h"

namespace switchboard {

struct Replica;

// Stops a call from outside the coroutine awaiting it (the client left: pipeline/client_watch.h):
// cancel() interrupts the operation under way and makes every later step of the call fail with
// `cancelled`. The Upstream registers, around each operation it awaits, how to interrupt it (a
// function and its argument: no allocation); it must clear it before that operation's object goes.
// Not thread-safe: used on the call's worker.
class CallCanceller {
 public:
  void cancel() {
    cancelled_ = true;
    if (interrupt_) interrupt_(interrupt_arg_);
  }
  bool cancelled() const { return cancelled_; }
  void set_interrupt(void (*interrupt)(void*), void* arg) {
    interrupt_ = interrupt;
    interrupt_arg_ = arg;
  }
  void clear_interrupt() { set_interrupt(nullptr, nullptr); }

 private:
  bool cancelled_ = false;
  void (*interrupt_)(void*) = nullptr;
  void* interrupt_arg_ = nullptr;
};

struct ModelCall {
  std::string_view model;            // the configured model's name
  const Replica* replica = nullptr;  // the replica chosen by the model's balancer
  std::string_view path;             // "/v1/chat/completions"
  std::string_view body;  // the request body as the upstream must see it; outlives the call
  std::string_view authorization;  // the replica's "Bearer <key>" ("" = none); never logged
  bool stream = false;             // the client asked for server-sent events
  std::chrono::steady_clock::time_point deadline;  // for the response head
  // Other headers the replica's API needs (Anthropic's x-api-key, anthropic-version); never logged.
  std::span<const std::pair<std::string, std::string>> headers = {};
  // Lets the caller stop start() from outside (null: only asio cancellation stops it).
  CallCanceller* canceller = nullptr;
  // Set true once the request was written whole to the replica (null: not asked), whatever
  // happens next: a try that fails after it may have been run and billed.
  bool* sent = nullptr;
  // The client's own headers a pass-through replica gets (anthropic-beta); never logged.
  std::span<const std::pair<std::string_view, std::string_view>> client_headers = {};
  // A new connection (TCP, and TLS's handshake) must be up within this, else the attempt fails
  // as upstream_unreachable well before `deadline` (a replica that drops SYNs must not hold the
  // whole timeout); 0 = until `deadline`.
  std::chrono::milliseconds connect_timeout{0};
  // Counts the copies written whole on a pooled connection the replica closed at once, before any
  // byte of an answer, and sent again on a fresh one (null: not asked): the replica may have read
  // them, so the decision records each (attempt result `stale_connection`).
  int* resent = nullptr;
};

class UpstreamResponse {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~UpstreamResponse() = default;
  virtual unsigned status() const = 0;
  virtual const std::string& content_type() const = 0;  // "" when absent
  // The upstream's Retry-After ("" when none): passed on with a 429 or 503 it answered.
  virtual std::string_view retry_after() const { return {}; }
  // Next piece of the body; an empty view means the body is complete. Valid until the next call.
  virtual boost::asio::awaitable<Result<std::string_view>> read_some(
      Clock::time_point deadline) = 0;
  // The rest of the body; upstream_response_too_large (kUpstreamError) beyond `limit` bytes.
  virtual boost::asio::awaitable<Result<std::string>> read_all(std::size_t limit,
                                                               Clock::time_point deadline) = 0;
  // Cancels a read in progress and every later one: they fail with `cancelled` (the client left
  // a stream).
  virtual void cancel() {}
  // What the provider billed for this call, when it says so (recorded outcomes do); otherwise the
  // executor prices the usage with the model's price.
  virtual std::optional<double> billed_usd() const { return std::nullopt; }
  // The latency the call had when it was recorded (offline); nullopt = use the measured time.
  virtual std::optional<double> recorded_latency_ms() const { return std::nullopt; }
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(
      const ModelCall& call) = 0;
};

}  // namespace switchboard
