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
// Shutdown: begin_shutdown() closes the acceptors, marks the server draining (keep-alive connections
// close after their current request) and run() returns once in-flight requests have finished or
// the drain timeout has passed.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
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
};

// One request and its response on a client connection. Owned by the connection; valid for the
// duration of the handler call only.
class Exchange {
 public:
  Exchange(beast::tcp_stream& stream, Request& request, unsigned worker,
           std::chrono::milliseconds write_timeout);

  Request& request() { return request_; }
  // Set when the request could not be read completely (today: body over the limit). The handler
  // must answer it with an error; the connection closes afterwards.
  const std::optional<Error>& read_error() const { return read_error_; }
  void set_read_error(Error e) { read_error_ = std::move(e); close_after_ = true; }
  unsigned worker() const { return worker_; }
  Clock::time_point received_at() const { return received_at_; }
  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Sends a complete response. Returns false if the client is gone (the caller just stops).
  asio::awaitable<bool> respond(Response response);
  // Chunked streaming: the head is sent with Transfer-Encoding: chunked, each write_chunk() is
  // one HTTP chunk flushed at once, finish_stream() sends the last chunk.
  asio::awaitable<bool> start_stream(ResponseHead head);
  asio::awaitable<bool> write_chunk(std::string_view data);
  asio::awaitable<bool> finish_stream();

  // Closes the connection without answering (or, after start_stream(), without ending the body),
  // as a server that crashed would. For fault injection; a real handler always answers.
  void abort() {
    responded_ = true;
    close_after_ = true;
  }

  bool responded() const { return responded_; }
  bool close_after() const { return close_after_; }
  void set_close_after() { close_after_ = true; }

 private:
  beast::tcp_stream& stream_;
  Request& request_;
  unsigned worker_;
  std::chrono::milliseconds write_timeout_;
  Clock::time_point received_at_ = Clock::now();
  std::optional<Error> read_error_;
  bool responded_ = false;
  bool close_after_ = false;
  bool keep_alive_ = true;
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
  // Each worker's io_context, index = Exchange::worker(); for per-worker clients.
  asio::io_context& context(unsigned worker);

 private:
  struct Worker;
  Server(ServerOptions options, Handler handler);
  asio::awaitable<void> accept_loop(Worker& w);
  asio::awaitable<void> session(beast::tcp_stream stream, unsigned worker);
  asio::awaitable<void> drain_watch();

  ServerOptions options_;
  Handler handler_;
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> draining_{false};
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace switchboard::http
