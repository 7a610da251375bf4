// Whether a request's client is still there while its model calls run.
//
// Serving, the gateway gives each request a ClientWatch over its connection
// (http::Exchange::watch_peer). The first model call asks for it (arm()); the watch on the socket
// starts once the request has waited kArmDelay (ClientWatchList, one per worker): most calls end
// before, and a cache hit or a refusal never asks, so neither pays for a peek and a pending wait.
// A client that left before the watch started is found by its first peek. When the client closes
// or resets its connection, the calls still waiting on an upstream are cancelled (each attempt
// listens: its request under way through a CallCanceller, its body's read through
// UpstreamResponse::cancel — as a plan's deadline cancels them: no health effect, no retry, no
// other replica or fallback tried), a multi-call plan calls nothing more, a stream's pending read
// is cancelled, and the request is recorded with
// outcome `client_gone` — status 499 (nginx's "client closed request") when nothing was sent yet —
// and what was spent until then. `server.cancel_on_client_close: false` lets calls run to their
// end instead. Offline there is no watch (RequestContext::client_watch is null) and nothing is ever
// cancelled.
//
// Not thread-safe: one per request, on the request's worker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "switchboard/result.h"
#include "switchboard/stage.h"

namespace switchboard::pipeline {

struct RequestContext;

class ClientWatchList;

class ClientWatch : public boost::intrusive::list_base_hook<
                        boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  // `arm` starts watching the connection and calls mark_gone() when the client leaves.
  using Arm = std::function<void(ClientWatch&)>;
  // `later`: where arm() queues the watch until kArmDelay passed (null: arm() starts it at once).
  explicit ClientWatch(Arm arm, ClientWatchList* later = nullptr);
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

  // Asks for the watch (queued on the ClientWatchList, or started at once without one).
  void arm();
  // Starts watching the socket now (once).
  void start();
  // The client left: emits a terminal cancellation on every listening signal and wakes every
  // until_gone(). Idempotent.
  void mark_gone();
  bool gone() const { return gone_; }
  // Arms the watch and returns once the client left, or when the waiting coroutine is cancelled
  // (the race it is in was decided otherwise): callers ask gone() afterwards.
  boost::asio::awaitable<void> until_gone();

  // Registers `interrupt` for mark_gone() while the object lives: it stops the operation it
  // stands for and returns whether that was still running.
  class Listening {
   public:
    Listening(ClientWatch& watch, std::function<bool()> interrupt);
    ~Listening();
    Listening(const Listening&) = delete;
    Listening& operator=(const Listening&) = delete;
    // mark_gone() stopped the operation while it was running.
    bool interrupted() const { return interrupted_; }

   private:
    friend class ClientWatch;
    ClientWatch& watch_;
    std::function<bool()> interrupt_;
    bool interrupted_ = false;
  };

 private:
  friend class ClientWatchList;
  Arm arm_;
  ClientWatchList* later_;
  std::chrono::steady_clock::time_point asked_at_;
  bool asked_ = false;
  bool started_ = false;
  bool gone_ = false;
  std::vector<Listening*> listening_;
  // Never expires: mark_gone() cancels its waits. Made by the first until_gone() (multi-call plans
  // only): constructing a timer looks its service up under the io_context's mutex.
  std::optional<boost::asio::steady_timer> signal_;
};

// A worker's watches asked for but not started yet, oldest first; a timer starts each one once it
// has waited kArmDelay. A watch leaves the list when started or destroyed. One per worker thread.
class ClientWatchList {
 public:
  static constexpr std::chrono::milliseconds kArmDelay{100};
  explicit ClientWatchList(boost::asio::any_io_executor executor);
  ~ClientWatchList();
  void add(ClientWatch& watch);

 private:
  void sweep();
  boost::intrusive::list<ClientWatch, boost::intrusive::constant_time_size<false>> waiting_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
};

// Whether the request's client is known to have left.
bool client_left(const RequestContext& ctx);

// The error a request whose client left is recorded with (outcome `client_gone`).
Error client_gone_error();

// Relabels the attempts from `attempts_from` on that the watch cancelled (result `cancelled`) as
// `client_gone`; a no-op unless the client left.
void label_client_gone(RequestContext& ctx, std::size_t attempts_from);

// Ends a request whose client left during its calls: the attempts from `attempts_from` on that the
// watch cancelled are recorded as `client_gone`, the record names the model and replica of the
// last of them, and the runner records the request with outcome client_gone (status 499). The
// caller has set the record's cost.
StageResult client_gone_result(RequestContext& ctx, std::size_t attempts_from);

}  // namespace switchboard::pipeline
