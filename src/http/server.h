// HTTP/1.1 server on Boost.Beast with C++20 coroutines.
//
// Threading: one io_context per worker thread, each with its own SO_REUSEPORT acceptor on the same
// address, so the kernel spreads connections and a connection lives on one thread for its whole
// life. Handlers therefore never need locks for per-worker state (see Exchange::worker()).
//
// Limits: header size, body size (a larger body is reported to the handler as
// Exchange::read_error() == kPayloadTooLarge, and the connection is closed after the answer),
// an idle/header timeout (keep-alive wait and slow headers), a body timeout and a write timeout,
// so a slow client cannot pin a connection.
//
// Bounds: at most max_connections client connections at once (across workers); one more is still
// accepted, answered 503 `overloaded` with `retry-after` and closed, so the client gets an answer
// (and beyond a small number of such rejections in progress, closed at once). Request bodies held
// in memory count against max_body_budget_bytes (across workers, from the moment the header
// announces a body until the handler returned); a request that would exceed it is answered 503
// `overloaded` without calling the handler. When accept() fails for lack of descriptors or memory
// (EMFILE, ENFILE, ENOBUFS, ENOMEM) the worker's accept loop waits a little before trying again
// instead of spinning on the listener.
//
// Exceptions: an exception escaping the handler (of any type) is contained: the client gets a 500
// if nothing was sent yet, the connection is closed, and the in-flight count is released.
//
// Shutdown: begin_shutdown() closes the acceptors, marks the server draining (keep-alive
// connections close after their current request) and run() returns once in-flight requests have
// finished or the drain timeout has passed.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/deadline_stream.h"
#include "switchboard/result.h"

namespace switchboard::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using RequestHead = bhttp::request_header<>;  // a request's start line and fields
using Response = bhttp::response<bhttp::string_body>;
using ResponseHead = bhttp::response<bhttp::empty_body>;
using Clock = std::chrono::steady_clock;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = ephemeral; port() tells which was bound
  unsigned threads = 0;  // 0 = one per core
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};    // waiting for / reading a request header
  std::chrono::milliseconds body_timeout{30'000};    // reading a request body
  std::chrono::milliseconds write_timeout{30'000};   // each write to the client
  std::chrono::milliseconds drain_timeout{30'000};   // graceful shutdown bound
  std::size_t max_connections = 0;                   // 0 = default_max_connections()
  std::size_t max_body_budget_bytes = std::size_t{1} << 30;
  std::chrono::milliseconds accept_backoff{100};  // after EMFILE & co.
  // Called (on a worker thread) for each request the server refuses itself, before any handler:
  // `header_too_large` (431), `bad_http` (a head that does not parse, 400) and `overloaded` (over
  // max_connections, 503). Such a request has no path or body to record; this lets it be counted.
  std::function<void(std::string_view code)> on_refused;
  // Asked (on a worker thread) with each request's head before its body is read; an error refuses
  // the request without reading the body: the handler gets it as Exchange::read_error() and the
  // connection closes after the answer. The admin listener checks its key here, so that no one
  // without it can hold the listener's body budget.
  std::function<std::optional<Error>(const RequestHead& head)> check_head;
};

// The default connection bound: the process's file-descriptor limit (RLIMIT_NOFILE, soft) less a
// reserve for upstream connections, the database and other files (a quarter of the limit, at least
// 64, at most 4096), and at least 16.
std::size_t default_max_connections();

// The 503 refusal when over a bound: kUnavailable, code `overloaded`. `why` names the bound.
Error overloaded_error(std::string_view why);
// The answer the server writes itself (over max_connections, before any handler): OpenAI's error
// shape of overloaded_error(why), `retry-after: 1`, connection closed. Over the body budget the
// handler answers instead (set_read_error), in its API's shape and recorded.
Response overloaded_response(std::string_view why);

// One request and its response on a client connection. Owned by the connection; valid for the
// duration of the handler call only.
class Exchange {
 public:
  Exchange(DeadlineStream& stream, Request& request, unsigned worker,
           std::chrono::milliseconds write_timeout);

  Request& request() { return request_; }
  // A HEAD request: respond() sends the head (with the body's Content-Length) and no body.
  bool head_only() const { return request_.method() == bhttp::verb::head; }
  // Set when the request could not be read completely (body over max_body_bytes: 413; over the
  // body budget: 503 overloaded; chunk framing over the buffer, malformed chunks, or a
  // Transfer-Encoding that does not end in chunked: 400 bad_http). The handler must
  // answer it with an error; the connection lingers and closes afterwards.
  const std::optional<Error>& read_error() const { return read_error_; }
  void set_read_error(Error e) { read_error_ = std::move(e); close_after_ = true; }
  // Takes `bytes` more of the server's body budget (server.max_body_budget_bytes) for this
  // request, held until it is done: what the handler builds from the body (a parsed request's
  // values, a translation) counts with the body's own bytes. Nothing when held; else the error to
  // answer, nothing taken: 413 request_too_large when this request alone would need more than the
  // whole budget (it can never be served), 503 overloaded when other requests hold the room.
  std::optional<Error> hold_memory(std::size_t bytes) {
    return hold_ ? hold_(bytes) : std::nullopt;
  }
  void set_memory_hold(std::function<std::optional<Error>(std::size_t)> hold) {
    hold_ = std::move(hold);
  }
  unsigned worker() const { return worker_; }
  Clock::time_point received_at() const { return received_at_; }
  asio::any_io_executor executor() { return stream_.get_executor(); }
  // The client's IP address as text ("" when the socket no longer knows it).
  std::string client_address() const;

  // Sends a complete response. Returns false if the client is gone (the caller just stops).
  asio::awaitable<bool> respond(Response response);
  // The same for a complete response given in parts, without building a Beast message (whose
  // fields cost an allocation each): the head is formatted directly, as respond(Response) would
  // send it. Statuses without a body (1xx, 204, 304) and header names or values Beast would refuse
  // (not a token; CR, LF or NUL) go through respond(Response).
  asio::awaitable<bool> respond(
      unsigned status, std::string_view content_type,
      std::span<const std::pair<std::string_view, std::string_view>> headers, std::string body);
  // Chunked streaming: the head is sent with Transfer-Encoding: chunked, each write_chunk() is
  // one HTTP chunk flushed at once, finish_stream() sends the last chunk. To an HTTP/1.0 client
  // (no chunked coding) the bytes go unframed and the connection's close ends the body.
  asio::awaitable<bool> start_stream(ResponseHead head);
  asio::awaitable<bool> write_chunk(std::string_view data);
  asio::awaitable<bool> finish_stream();

  // Closes the connection without answering (or, after start_stream(), without ending the body),
  // as a server that crashed would. For fault injection; a real handler always answers.
  void abort() {
    responded_ = true;
    close_after_ = true;
  }

  // Watches the client's connection while the handler works: `on_gone` is called (once, on this
  // worker, from the event loop) when the client closes or resets it before stop_watching() or the
  // end of the exchange; the connection then closes after the answer. A client that sends more
  // bytes meanwhile (a pipelined request, also one already read into the connection's buffer)
  // cannot be told from one still waiting and is not watched. A client that only half-closes
  // (shuts down its sending side) counts as gone, as with nginx. Costs one non-blocking peek and
  // one wait on the socket, left pending after stop_watching() until the socket is next readable
  // (it then does nothing).
  void watch_peer(std::function<void()> on_gone);
  void stop_watching();
  // watch_peer() saw the client leave (nothing more is sent: the connection closes).
  bool peer_gone() const { return peer_gone_; }
  ~Exchange() { stop_watching(); }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  bool responded() const { return responded_; }
  bool close_after() const { return close_after_; }
  // What the client asked for (HTTP/1.1 without `Connection: close`), read once from the request.
  bool client_keeps_alive() const { return keep_alive_; }
  void set_close_after() { close_after_ = true; }

 private:
  struct PeerWatch;
  static void arm_watch(std::shared_ptr<PeerWatch> watch);

  DeadlineStream& stream_;
  Request& request_;
  std::shared_ptr<PeerWatch> watch_;
  unsigned worker_;
  std::chrono::milliseconds write_timeout_;
  Clock::time_point received_at_ = Clock::now();
  std::function<std::optional<Error>(std::size_t)> hold_;
  std::optional<Error> read_error_;
  bool responded_ = false;
  bool close_after_ = false;
  bool peer_gone_ = false;
  bool pipelined_ = false;  // the connection's buffer holds bytes of a next request
  bool unframed_ = false;   // a stream to an HTTP/1.0 client: raw bytes, ended by the close
  friend class Server;
  bool keep_alive_ = true;
  // "timeout=N": the server's idle timeout in whole seconds, sent as `Keep-Alive` on every
  // response that keeps the connection open, so clients that reuse idle connections (undici,
  // browsers) close them before the server does instead of racing its close with a request.
  std::string_view keep_alive_hint_;
  // The server's draining flag: a response written while it drains closes the connection after
  // it, and says so (Connection: close, no hint) — also one whose request came before the drain.
  const std::atomic<bool>* draining_ = nullptr;
  bool keeps_alive() const {
    return keep_alive_ && !close_after_ &&
           !(draining_ && draining_->load(std::memory_order_relaxed));
  }
};

using Handler = std::function<asio::awaitable<void>(Exchange&)>;

class Server {
 public:
  // Binds at once (so port() is known and errors surface before run()). Returns an error when the
  // address cannot be bound.
  static Result<std::unique_ptr<Server>> create(ServerOptions options, Handler handler);
  ~Server();

  // Runs the workers on threads() threads (the calling thread is one of them); returns after
  // begin_shutdown() has drained, or stop().
  void run();
  // Thread-safe and async-signal-friendly when called from an asio signal handler.
  void begin_shutdown();
  void stop();

  uint16_t port() const { return port_; }
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Client connections open now (rejected ones not counted) and the bound in force.
  std::int64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  std::size_t max_connections() const { return max_connections_; }
  // Bytes of request bodies (and what they parse into) held now, and the bound in force.
  std::size_t body_bytes_held() const { return body_bytes_.load(std::memory_order_relaxed); }
  std::size_t max_body_budget() const { return options_.max_body_budget_bytes; }
  // Each worker's io_context, index = Exchange::worker(); for per-worker clients.
  asio::io_context& context(unsigned worker);

 private:
  struct Worker;
  // Counts a client connection from accept to close (moved into the session's frame, so it is
  // released however the session ends, even if it never starts).
  class ConnectionSlot {
   public:
    explicit ConnectionSlot(std::atomic<std::int64_t>* n) : n_(n) {}
    ConnectionSlot(ConnectionSlot&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
      if (n_) n_->fetch_sub(1, std::memory_order_relaxed);
    }

   private:
    std::atomic<std::int64_t>* n_;
  };
  Server(ServerOptions options, Handler handler);
  asio::awaitable<void> accept_loop(Worker& w, unsigned index);
  asio::awaitable<void> session(DeadlineStream stream, unsigned worker, ConnectionSlot slot);
  asio::awaitable<void> reject(DeadlineStream stream, ConnectionSlot slot);
  asio::awaitable<void> drain_watch();
  // Adds `n` bytes to the body budget; false (and nothing added) when that would exceed it.
  bool reserve_body(std::size_t n);
  void release_body(std::size_t n) { body_bytes_.fetch_sub(n, std::memory_order_relaxed); }

  ServerOptions options_;
  std::string keep_alive_hint_;  // Exchange::keep_alive_hint_, made once from options_.idle_timeout
  Handler handler_;
  uint16_t port_ = 0;
  std::size_t max_connections_ = 0;  // constant after create()
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> draining_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> connections_{0};  // counted client connections
  std::atomic<std::int64_t> rejecting_{0};    // connections being answered 503 before closing
  std::atomic<std::size_t> body_bytes_{0};    // request body bytes held
};

}  // namespace switchboard::http
