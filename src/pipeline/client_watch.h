// Whether a request's client is still there while its model calls run.
//
// Serving, the gateway gives each request a ClientWatch over its connection
// (http::Exchange::watch_peer), armed at the first model call (a cache hit or a refusal never pays
// for it). When the client closes or resets its connection, the calls still waiting on an upstream
// are cancelled (as a plan's deadline cancels them: no health effect, no retry), a multi-call plan
// calls nothing more, and the request is recorded with outcome `client_gone`, status 499 (nginx's
// "client closed request") and what was spent until then. `server.cancel_on_client_close: false`
// lets calls run to their end instead. Offline there is no watch (RequestContext::client_watch is
// null) and nothing is ever cancelled.
//
// Not thread-safe: one per request, on the request's worker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "switchboard/result.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {

struct RequestContext;

class ClientWatch {
 public:
  // `arm` starts watching the connection and calls mark_gone() when the client leaves.
  using Arm = std::function<void(ClientWatch&)>;
  ClientWatch(boost::asio::any_io_executor executor, Arm arm);
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  // Arms the watch if it was not yet.
  void arm();
  // The client left: wakes every until_gone(). Idempotent.
  void mark_gone();
  bool gone() const { return gone_; }
  // Arms the watch and returns once the client left, or when the waiting coroutine is cancelled
  // (the race it is in was decided otherwise): callers ask gone() afterwards.
  boost::asio::awaitable<void> until_gone();

 private:
  Arm arm_;
  bool armed_ = false;
  bool gone_ = false;
  boost::asio::steady_timer signal_;  // never expires: mark_gone() cancels its waits
};

// Runs `op` to its end, unless the client leaves first: `op` is then cancelled (it must turn the
// cancellation into its own result, as call_model() does) and false is returned. Without a watch
// (offline, or cancel_on_client_close off) it just awaits `op`. An exception from `op` is rethrown.
boost::asio::awaitable<bool> unless_client_leaves(RequestContext& ctx,
                                                  boost::asio::awaitable<void> op);

// Whether the request's client is known to have left.
bool client_left(const RequestContext& ctx);

// The error a request whose client left is recorded with (outcome `client_gone`).
Error client_gone_error();

// Ends a request whose client left during its calls: the attempts from `attempts_from` on that the
// watch cancelled are recorded as `client_gone`, and the runner records the request with outcome
// client_gone (status 499). The caller has set the record's cost.
StageResult client_gone_result(RequestContext& ctx, std::size_t attempts_from);

}  // namespace switchboard::pipeline
