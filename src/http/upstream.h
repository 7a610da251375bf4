// HTTP client for upstream OpenAI-compatible servers, with a keep-alive connection pool.
//
// One UpstreamClient per worker thread (see Server::context()), held by std::shared_ptr and
// destroyed before its io_context (Gateway::detach()); it is not thread-safe, and needs no
// locks because a worker's coroutines run on one thread. Connections are pooled per pool key (one
// key per replica) and reused only after a response was read completely, and only while they have
// been idle for less than the client's idle timeout: older ones are closed (by a sweep timer, so an
// upstream sees them go even when no request comes).
//
// The request body is a view: it is written by every attempt (the stale-connection retry here, and
// the executor's retries and hedges, which share the body the executor holds), never copied.
//
// Errors (as values): upstream_unreachable (kUpstreamError: resolve/connect/TLS failure, reset,
// the connection closed before a whole head), upstream_bad_answer (kUpstreamError: bytes that are
// not HTTP, a 101, endless interim answers, a redirect, a status below 100 or past 599, a content
// coding — Accept-Encoding: identity is sent —, a chunk-size line or trailer over 128 KiB),
// upstream_timeout (kUpstreamTimeout: the deadline passed), upstream_bad_request (a target or
// header that would split the request: nothing is sent) and cancelled (the caller's
// CallCanceller). A request on a pooled connection that the upstream had already closed (the
// failure comes within 100 ms of the write, before any byte) is sent once more on a fresh
// connection; a later failure is the caller's, since the upstream may have run the request. Interim 1xx
// answers are skipped. A connection goes back to the pool only when its answer was read
// completely and nothing followed it.
#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "http/response_head_parser.h"
#include "http/server.h"
#include "switchboard/upstream.h"

namespace switchboard::http {

// An upstream request. UpstreamClient::start writes "METHOD target HTTP/1.1", Host (the target
// URL's), the headers in the order set, Authorization (the UpstreamTarget's), Content-Length (when
// there is a body, or for any method but GET and HEAD), then the body — one string for the head,
// no bhttp::fields. Every view must stay valid until start() completes: the body is never copied.
// A header name that is not an HTTP token, or a value with CR, LF or NUL, fails start() with
// upstream_bad_request before anything is sent.
struct UpstreamRequest {
  bhttp::verb method = bhttp::verb::get;
  std::string_view target;
  std::string_view body;
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 6> headers;
  // Stops start() from outside: the resolve, connect, handshake, write or head read under way is
  // interrupted and start() fails with `cancelled` (null: none).
  CallCanceller* canceller = nullptr;
  // Set true once the request was written whole (null: not asked).
  bool* sent = nullptr;
  // Counts the whole copies sent again after a reused connection failed at once (null: not asked).
  int* resent = nullptr;
  void set(std::string_view name, std::string_view value) { headers.emplace_back(name, value); }
};

inline UpstreamRequest make_upstream_request(bhttp::verb method, std::string_view target,
                                             std::string_view body = {}) {
  UpstreamRequest r;
  r.method = method;
  r.target = target;
  r.body = body;
  return r;
}

struct UpstreamTarget {
  const config::Url* url = nullptr;
  std::string_view authorization;  // full header value ("Bearer …"); empty = none
  std::size_t pool_key = 0;        // connections are reused only under the same key
  // A new connection must be up (TCP and TLS) within this, else upstream_unreachable ("no
  // connection within N ms") though the request's deadline is later; 0 = until the deadline.
  std::chrono::milliseconds connect_timeout{0};
  // How error messages call the upstream ("replica #1 of m"); empty: its URL's host:port. A
  // message may reach a client, which need not learn the gateway's internal addresses.
  std::string_view name;
};

class UpstreamClient;

// One request in progress: the response head has arrived; the body is read with read_some().
// Destroying it returns the connection to the pool when the body was read to its end.
class UpstreamCall {
 public:
  ~UpstreamCall();
  unsigned status() const { return parser_.status(); }
  // The response's Content-Type ("" when absent). Other upstream headers are not passed on.
  const std::string& content_type() const { return parser_.content_type(); }
  const std::string& retry_after() const { return parser_.retry_after(); }
  // Next piece of the body as it arrives (de-chunked). An empty view means the body is complete.
  // The view is valid until the next call.
  asio::awaitable<Result<std::string_view>> read_some(Clock::time_point deadline);
  // Reads the remaining body, failing with upstream_error beyond `limit` bytes.
  asio::awaitable<Result<std::string>> read_all(std::size_t limit, Clock::time_point deadline);
  // Cancels a read in progress, and every later one (they fail with `cancelled`); the connection
  // is not reused.
  void cancel();

 private:
  friend class UpstreamClient;
  struct Connection;
  UpstreamCall(std::shared_ptr<UpstreamClient> client, std::size_t key, std::unique_ptr<Connection> conn);
  // Keeps the client (and its io_context's sockets) alive while this call exists, so that a call
  // destroyed during io_context shutdown never touches a destroyed pool.
  std::shared_ptr<UpstreamClient> client_;
  std::size_t key_;
  std::unique_ptr<Connection> conn_;
  ResponseHeadParser parser_;
  bool done_ = false;
  bool failed_ = false;
  bool cancelled_ = false;
};

class UpstreamClient : public std::enable_shared_from_this<UpstreamClient> {
 public:
  static constexpr std::chrono::milliseconds kDefaultIdleTimeout{30'000};
  UpstreamClient(asio::io_context& io, asio::ssl::context& tls, std::size_t max_idle_per_key = 256,
                 std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout);
  ~UpstreamClient();

  // Sends `request` (target, method, headers and body view set by the caller; Host, Authorization
  // and Content-Length are set here) and waits for the response head until `deadline`. The body
  // must outlive this call; it is not copied. `request` too (by reference: a copy in the
  // coroutine's frame pushed it over asio's 1020-byte recycling limit).
  asio::awaitable<Result<std::unique_ptr<UpstreamCall>>> start(const UpstreamTarget& target,
                                                               const UpstreamRequest& request,
                                                               Clock::time_point deadline);
  std::size_t idle_connections() const;

 private:
  friend class UpstreamCall;
  using Connection = UpstreamCall::Connection;
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const UpstreamTarget& target,
                                                               Clock::time_point deadline,
                                                               CallCanceller* canceller);
  void release(std::size_t key, std::unique_ptr<Connection> conn);
  // A pooled connection for `key` that has not idled too long, or null; drops expired ones.
  std::unique_ptr<Connection> take_idle(std::size_t key, Clock::time_point now);
  // No byte and no end of stream waiting on its socket (one non-blocking peek) or in its TLS
  // layer.
  static bool quiet(Connection& conn);
  // Closes the connections idle for longer than the timeout; re-arms itself while any are pooled.
  void sweep();
  void arm_sweep(Clock::time_point at);

  asio::io_context& io_;
  asio::ssl::context& tls_;
  std::size_t max_idle_per_key_;
  std::chrono::milliseconds idle_timeout_;
  // Per key, oldest first (connections are taken from and returned to the back).
  std::unordered_map<std::size_t, std::vector<std::unique_ptr<Connection>>> idle_;
  asio::steady_timer sweeper_;
  bool sweep_armed_ = false;
};

// A TLS client context that verifies peers against the system's CA store.
std::unique_ptr<asio::ssl::context> make_client_tls_context();

}  // namespace switchboard::http
