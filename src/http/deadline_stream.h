// A TCP stream with a deadline: what beast::tcp_stream's expiry gives (an operation still pending
// when the deadline passes fails with beast::error::timeout and the socket is closed; one started
// after it fails the same way), without a timer armed and cancelled around every read and write.
//
// Why: beast::tcp_stream wraps every async_read_some / async_write_some in a composed operation
// that starts a timer wait, reads the clock and cancels the wait when the I/O completes; on the
// gateway's hot path (a read and a write on the client's connection, a write and reads on the
// upstream's, per request) that was ~4% of a proxied request's instructions (bench/callgrind.sh).
//
// How: the deadline is a stored time point. One steady_timer per stream is armed lazily: when an
// operation starts and the timer is not armed (at the deadline), or when a new deadline is earlier
// than the time the timer is armed for. A later deadline never re-arms it: when the timer fires
// before the deadline it re-arms itself at the deadline. So a busy keep-alive connection whose
// deadline moves forward with every request re-arms its timer about once per timeout period.
// When the timer fires at or after the deadline: with an operation pending, the socket is closed
// and the pending operations complete with beast::error::timeout; with none pending, nothing
// happens until the next operation starts, which arms the timer at the passed deadline and so
// times out at once — the same behaviour as beast::tcp_stream, which checks the expiry when an
// operation starts and runs its timer only while one is pending.
//
// Contract: like beast::tcp_stream, an AsyncReadStream/AsyncWriteStream usable under
// beast::ssl_stream and by Beast's and Asio's composed operations (async_write, the http reads);
// completion handlers keep their associated executor, allocator and cancellation slot. Not
// thread-safe: one strand (a worker's io_context) per stream. Movable: the state (socket, timer)
// is shared with the operations in flight and the timer's wait, so a stream may be destroyed while
// an operation is pending (it completes with an error and touches only the shared state).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <utility>

namespace switchboard::http {

namespace detail {

struct DeadlineState : std::enable_shared_from_this<DeadlineState> {
  explicit DeadlineState(boost::asio::ip::tcp::socket s)
      : socket(std::move(s)), timer(socket.get_executor()) {}
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point armed_at;  // meaningful while armed
  std::uint64_t generation = 0;  // of the timer's current wait
  unsigned pending = 0;          // operations in flight
  bool armed = false;
  bool timed_out = false;  // sticky: the socket was closed by the deadline

  void begin_op() {
    ++pending;
    if (!armed && deadline != std::chrono::steady_clock::time_point::max()) arm(deadline);
  }
  void arm(std::chrono::steady_clock::time_point at);
  void on_timer();
};

// Wraps an operation's handler: counts the operation's end and reports an error after the
// deadline closed the socket as beast::error::timeout. Associated executor, allocator and
// cancellation slot are the wrapped handler's (the associator below).
template <typename Handler>
struct DeadlineCompletion {
  Handler handler;
  std::shared_ptr<DeadlineState> s;
  template <typename... Args>
  void operator()(boost::system::error_code ec, Args&&... args) {
    --s->pending;
    if (ec && s->timed_out) ec = boost::beast::error::timeout;
    s.reset();
    std::move(handler)(ec, std::forward<Args>(args)...);
  }
};

}  // namespace detail

class DeadlineStream {
 public:
  using Clock = std::chrono::steady_clock;
  using executor_type = boost::asio::any_io_executor;
  using socket_type = boost::asio::ip::tcp::socket;

  explicit DeadlineStream(socket_type socket);
  template <typename ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
  explicit DeadlineStream(ExecutionContext& context)
      : DeadlineStream(socket_type(context)) {}
  DeadlineStream(DeadlineStream&&) noexcept = default;
  DeadlineStream& operator=(DeadlineStream&&) noexcept = default;
  // Closes the socket (pending operations complete with operation_aborted).
  ~DeadlineStream();

  executor_type get_executor() noexcept { return s_->socket.get_executor(); }
  socket_type& socket() noexcept { return s_->socket; }
  // For asio::ssl::stream. beast::get_lowest_layer() of a stack over this stream is this stream.
  using lowest_layer_type = socket_type;
  lowest_layer_type& lowest_layer() noexcept { return s_->socket; }

  void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
  void expires_at(Clock::time_point deadline);
  void expires_never() noexcept { s_->deadline = Clock::time_point::max(); }

  void close();
  void cancel();

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [](auto handler, std::shared_ptr<State> s, const MutableBuffers& b) {
          State& st = *s;
          st.begin_op();
          st.socket.async_read_some(b, Completion<decltype(handler)>{std::move(handler), std::move(s)});
        },
        token, s_, buffers);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [](auto handler, std::shared_ptr<State> s, const ConstBuffers& b) {
          State& st = *s;
          st.begin_op();
          st.socket.async_write_some(b, Completion<decltype(handler)>{std::move(handler), std::move(s)});
        },
        token, s_, buffers);
  }

  // Connects to the first endpoint of `endpoints` that accepts (asio::async_connect), under the
  // deadline. Completes with (error_code, endpoint).
  template <typename Endpoints, typename Token>
  auto async_connect(const Endpoints& endpoints, Token&& token) {
    using Endpoint = boost::asio::ip::tcp::endpoint;
    return boost::asio::async_initiate<Token, void(boost::system::error_code, Endpoint)>(
        [](auto handler, std::shared_ptr<State> s, const Endpoints& e) {
          State& st = *s;
          st.begin_op();
          boost::asio::async_connect(st.socket, e,
                                     Completion<decltype(handler)>{std::move(handler), std::move(s)});
        },
        token, s_, endpoints);
  }

 private:
  using State = detail::DeadlineState;
  template <typename Handler>
  using Completion = detail::DeadlineCompletion<Handler>;
  std::shared_ptr<State> s_;
};

}  // namespace switchboard::http

template <template <typename, typename> class Associator, typename Handler, typename DefaultCandidate>
struct boost::asio::associator<Associator, switchboard::http::detail::DeadlineCompletion<Handler>,
                               DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const switchboard::http::detail::DeadlineCompletion<Handler>& c) noexcept {
    return Associator<Handler, DefaultCandidate>::get(c.handler);
  }
  static auto get(const switchboard::http::detail::DeadlineCompletion<Handler>& c,
                  const DefaultCandidate& d) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(c.handler, d)) {
    return Associator<Handler, DefaultCandidate>::get(c.handler, d);
  }
};
