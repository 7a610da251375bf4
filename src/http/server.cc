#include "http/server.h"

#include "http/arriving_body.h"
#include "http/read.h"
#include "http/request_head.h"
#include "http/wire.h"
#include "switchboard/ascii.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <thread>

namespace switchboard::http {

using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

// ---------------------------------------------------------------- Exchange

std::string Exchange::client_address() const {
  boost::system::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

Exchange::Exchange(DeadlineStream& stream, Request& request, unsigned worker,
                   std::chrono::milliseconds write_timeout)
    : stream_(stream), request_(request), worker_(worker), write_timeout_(write_timeout) {
  keep_alive_ = request_.keep_alive();
}

// ---------------------------------------------------------------- watching the client

// Shared by the exchange and its pending wait: `on_gone` is cleared by stop_watching(), after which
// the wait's completion touches nothing else (the exchange, and maybe its socket, are gone).
struct Exchange::PeerWatch {
  std::function<void()> on_gone;
  Exchange* exchange = nullptr;  // valid while on_gone is set
};

namespace {

enum class Peer { kWaiting, kGone, kSentMore };

// What a non-blocking peek at the client's socket tells.
Peer peek(tcp::socket& socket) {
  char c;
  for (;;) {
    const ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return Peer::kSentMore;
    if (n == 0) return Peer::kGone;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? Peer::kWaiting : Peer::kGone;
  }
}

}  // namespace

void Exchange::arm_watch(std::shared_ptr<PeerWatch> watch) {
  tcp::socket& socket = watch->exchange->stream_.socket();
  const auto fire = [](PeerWatch& w) {
    auto on_gone = std::move(w.on_gone);
    w.on_gone = nullptr;
    w.exchange->close_after_ = true;
    w.exchange->peer_gone_ = true;
    on_gone();
  };
  // A peek first: a close that came before the wait was queued has already been reported by the
  // event loop (edge-triggered) and would not wake the wait.
  switch (socket.is_open() ? peek(socket) : Peer::kGone) {
    case Peer::kGone:
      return fire(*watch);
    case Peer::kSentMore:
      watch->on_gone = nullptr;
      return;
    case Peer::kWaiting:
      break;
  }
  socket.async_wait(tcp::socket::wait_read, [watch, fire](boost::system::error_code ec) {
    if (!watch->on_gone) return;  // stopped
    if (ec == asio::error::operation_aborted && watch->exchange->stream_.socket().is_open()) {
      watch->on_gone = nullptr;  // cancelled by someone else: stop watching
      return;
    }
    if (ec) return fire(*watch);
    arm_watch(watch);  // readable: peek again
  });
}

void Exchange::watch_peer(std::function<void()> on_gone) {
  stop_watching();
  // Bytes of a next request already read into the connection's buffer (pipelined): this client
  // is still there, and a close after them is no sign it left.
  if (pipelined_) return;
  watch_ = std::make_shared<PeerWatch>();
  watch_->on_gone = std::move(on_gone);
  watch_->exchange = this;
  arm_watch(watch_);
}

void Exchange::stop_watching() {
  if (!watch_) return;
  // The pending wait is left to complete on its own — when the client sends its next request,
  // closes, or the connection closes — and then finds the watch stopped. Nothing is cancelled: no
  // other operation on the socket can be touched, and nothing outlives what it points to when the
  // connection's coroutine is destroyed at shutdown (the wait holds only the shared PeerWatch).
  watch_->on_gone = nullptr;
  watch_.reset();
}

awaitable<bool> Exchange::respond(Response response) {
  responded_ = true;
  const bool keeps = keeps_alive();
  response.keep_alive(keeps);
  // An HTTP/1.0 client keeps the connection only when told (HTTP/1.1 ones by default).
  if (keeps && request_.version() < 11) response.set(bhttp::field::connection, "keep-alive");
  if (keeps && !keep_alive_hint_.empty())
    response.set(bhttp::field::keep_alive, keep_alive_hint_);
  response.prepare_payload();
  stream_.expires_after(write_timeout_);
  const std::string head = head_text(response.base());
  const std::array<asio::const_buffer, 2> message{
      asio::buffer(head), asio::buffer(head_only() ? std::string_view() : response.body())};
  auto [ec, n] = co_await asio::async_write(stream_, message, kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::respond(
    unsigned status, std::string_view content_type,
    std::span<const std::pair<std::string_view, std::string_view>> headers, std::string body) {
  bool plain = status >= 200 && status <= 999 && status != 204 && status != 304 &&
               header_value_ok(content_type);
  std::size_t size = 96 + content_type.size() + keep_alive_hint_.size();
  for (const auto& [name, value] : headers) {
    plain = plain && header_name_ok(name) && header_value_ok(value);
    size += name.size() + value.size() + 4;
  }
  if (!plain) {
    Response r{static_cast<bhttp::status>(status), 11};
    r.set(bhttp::field::content_type, content_type);
    for (const auto& [name, value] : headers) r.set(name, value);
    r.body() = std::move(body);
    co_return co_await respond(std::move(r));
  }
  responded_ = true;
  using namespace std::string_view_literals;
  // As respond(Response) formats it: the status line, the fields in the order they were set,
  // then Connection (when closing, or keeping an HTTP/1.0 client's: HTTP/1.1 keeps alive by
  // default) and the Keep-Alive hint, then Content-Length.
  std::string head;
  head.reserve(size);
  head += "HTTP/1.1 "sv;
  head += static_cast<char>('0' + status / 100 % 10);
  head += static_cast<char>('0' + status / 10 % 10);
  head += static_cast<char>('0' + status % 10);
  head += ' ';
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  head.append(reason.data(), reason.size());
  head += "\r\nContent-Type: "sv;
  head += content_type;
  head += "\r\n"sv;
  for (const auto& [name, value] : headers) {
    head += name;
    head += ": "sv;
    head += value;
    head += "\r\n"sv;
  }
  if (!keeps_alive()) {
    head += "Connection: close\r\n"sv;
  } else {
    if (request_.version() < 11) head += "Connection: keep-alive\r\n"sv;
    if (!keep_alive_hint_.empty()) {
      head += "Keep-Alive: "sv;
      head += keep_alive_hint_;
      head += "\r\n"sv;
    }
  }
  head += "Content-Length: "sv;
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body.size());
  head.append(digits, end);
  head += "\r\n\r\n"sv;
  stream_.expires_after(write_timeout_);
  const std::array<asio::const_buffer, 2> message{
      asio::buffer(head), asio::buffer(head_only() ? std::string_view() : std::string_view(body))};
  auto [wec, n] = co_await asio::async_write(stream_, message, kNoThrow);
  if (wec) close_after_ = true;
  co_return !wec;
}

awaitable<bool> Exchange::start_stream(ResponseHead head) {
  responded_ = true;
  // HTTP/1.0 has no chunked coding: its client reads the body to the connection's close.
  unframed_ = request_.version() < 11;
  if (unframed_) close_after_ = true;
  const bool keeps = keeps_alive();
  head.keep_alive(keeps);
  if (keeps && !keep_alive_hint_.empty())
    head.set(bhttp::field::keep_alive, keep_alive_hint_);
  head.chunked(!unframed_);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::write_chunk(std::string_view data) {
  // An empty chunk would end the body; a HEAD response has none (its head was all).
  if (data.empty() || head_only()) co_return true;
  stream_.expires_after(write_timeout_);
  if (unframed_) {
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data), kNoThrow);
    co_return !ec;  // (the connection closes after the body anyway)
  }
  auto [ec, n] = co_await asio::async_write(
      stream_, bhttp::make_chunk(asio::const_buffer(data.data(), data.size())), kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::finish_stream() {
  if (head_only() || unframed_) co_return true;  // an unframed body ends with the connection
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

// ---------------------------------------------------------------- Server

struct Server::Worker {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
};

Server::Server(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {
  // Whole seconds, rounded down: a client that believes it closes no later than the server does.
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.idle_timeout);
  if (seconds.count() >= 1) keep_alive_hint_ = "timeout=" + std::to_string(seconds.count());
}

Server::~Server() = default;

std::size_t default_max_connections() {
  rlimit rl{};
  std::uint64_t nofile = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0)
    nofile = rl.rlim_cur == RLIM_INFINITY ? (std::uint64_t{1} << 20)
                                          : static_cast<std::uint64_t>(rl.rlim_cur);
  const std::uint64_t reserve = std::clamp<std::uint64_t>(nofile / 4, 64, 4096);
  const std::uint64_t n = nofile > reserve + 16 ? nofile - reserve : nofile / 2;
  return static_cast<std::size_t>(std::max<std::uint64_t>(16, n));
}

Error overloaded_error(std::string_view why) {
  return make_error(ErrorKind::kUnavailable, "overloaded",
                    "server overloaded: " + std::string(why) + "; retry later");
}

Response overloaded_response(std::string_view why) {
  const Error e = overloaded_error(why);
  Response r{bhttp::status::service_unavailable, 11};
  r.set(bhttp::field::content_type, "application/json");
  r.set(bhttp::field::retry_after, "1");
  r.body() = R"({"error":{"message":")" + e.message + R"(","type":")" +
             openai_error_type(e.kind) + R"(","code":"overloaded","param":null}})";  // no quotes in `why`
  r.keep_alive(false);
  r.prepare_payload();
  return r;
}

Result<std::unique_ptr<Server>> Server::create(ServerOptions options, Handler handler) {
  std::unique_ptr<Server> server(new Server(std::move(options), std::move(handler)));
  server->max_connections_ = server->options_.max_connections ? server->options_.max_connections
                                                              : default_max_connections();
  unsigned n = server->options_.threads ? server->options_.threads
                                        : std::max(1u, std::thread::hardware_concurrency());
  boost::system::error_code ec;
  auto address = asio::ip::make_address(server->options_.host, ec);
  if (ec) {
    return make_error(ErrorKind::kInternal, "bad_listen_address",
                      "cannot parse listen host '" + server->options_.host + "'");
  }
  uint16_t port = server->options_.port;
  if (port != 0) {
    // The workers' listeners share the port with SO_REUSEPORT, which would also let them join a
    // listener another process (a second gateway) or this one (the admin listener) already has
    // there, and split its connections at random. A socket without SO_REUSEPORT binds only where
    // no listener is (SO_REUSEADDR: connections in TIME_WAIT from a previous run do not count).
    asio::io_context probe_io;
    tcp::acceptor probe(probe_io);
    tcp::endpoint ep(address, port);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec)
      return make_error(ErrorKind::kInternal, "listen_failed",
                        "cannot listen on " + server->options_.host + ":" + std::to_string(port) +
                            ": " + ec.message() +
                            (ec == asio::error::address_in_use
                                 ? " (another process or listener of this one holds it)"
                                 : ""));
  }
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    tcp::endpoint ep(address, port);
    w->acceptor.open(ep.protocol(), ec);
    if (!ec) w->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = boost::system::error_code(errno, boost::system::system_category());
    }
    if (!ec) w->acceptor.bind(ep, ec);
    if (!ec) w->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return make_error(ErrorKind::kInternal, "listen_failed",
                        "cannot listen on " + server->options_.host + ":" + std::to_string(port) +
                            ": " + ec.message());
    }
    port = w->acceptor.local_endpoint().port();  // the first one fixes an ephemeral port
    server->workers_.push_back(std::move(w));
  }
  server->port_ = port;
  return server;
}

asio::io_context& Server::context(unsigned worker) { return workers_.at(worker)->io; }

void Server::run() {
  for (unsigned i = 0; i < workers_.size(); ++i) {
    asio::co_spawn(workers_[i]->io, accept_loop(*workers_[i], i), [](std::exception_ptr e) {
      if (e)
        spdlog::critical("accept loop ended by an exception: no new connections on this worker");
    });
  }
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([this, i] { workers_[i]->io.run(); });
  }
  workers_[0]->io.run();
  for (auto& t : threads) t.join();
}

void Server::begin_shutdown() {
  if (draining_.exchange(true)) return;
  for (auto& w : workers_) {
    asio::post(w->io, [&w] {
      boost::system::error_code ignored;
      w->acceptor.close(ignored);
    });
  }
  asio::co_spawn(workers_[0]->io, drain_watch(), asio::detached);
}

void Server::stop() {
  for (auto& w : workers_) w->io.stop();
}

awaitable<void> Server::drain_watch() {
  auto deadline = Clock::now() + options_.drain_timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (in_flight_.load() > 0 && Clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kNoThrow);
  }
  stop();
}

namespace {

// A coroutine's completion handler that logs an exception instead of dropping it silently.
void log_exception(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("{} ended by an exception: {}", what, x.what());
  } catch (...) {
    spdlog::error("{} ended by an exception of unknown type", what);
  }
}

// accept() failed for lack of descriptors or memory: the pending connection stays in the backlog
// and the listener stays readable, so trying again at once would spin.
bool out_of_resources(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

// Room beyond the head's limit in a connection's read buffer, for chunk framing and pipelined
// requests.
constexpr std::size_t kMaxChunkFraming = 64 * 1024;

// A parser error that the request's bytes caused (as opposed to the stream ending or timing out).
bool is_malformed(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
         ec != bhttp::error::need_more;
}

template <typename Head>
bool expects_continue(const Head& r) {
  auto it = r.find(bhttp::field::expect);
  return it != r.end() && ascii_iequals(it->value(), "100-continue");
}

Error payload_too_large(std::size_t limit) {
  return make_error(ErrorKind::kPayloadTooLarge, "request_too_large",
                    "request body exceeds the limit of " + std::to_string(limit) + " bytes");
}

// After answering a request whose body we did not read, closing at once would make the kernel
// reset the connection and the client could lose our answer. Read and discard for a while first.
awaitable<void> linger_close(DeadlineStream& stream,
                             std::chrono::milliseconds for_at_most = std::chrono::seconds(2),
                             std::size_t max_bytes = 256u << 20) {
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(for_at_most);
  std::array<char, 16 * 1024> sink;
  std::size_t total = 0;
  while (total < max_bytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    total += n;
  }
  stream.close();
}

// Rejections in progress at most (each holds a descriptor for up to a few seconds); beyond, an
// excess connection is closed at once.
std::int64_t max_rejecting(std::size_t max_connections) {
  return static_cast<std::int64_t>(std::clamp<std::size_t>(max_connections / 16, 4, 256));
}

// Releases a request's share of the body budget when the request is done.
class BodyHold {
 public:
  BodyHold(std::atomic<std::size_t>& budget) : budget_(budget) {}
  BodyHold(const BodyHold&) = delete;
  BodyHold& operator=(const BodyHold&) = delete;
  ~BodyHold() { release(); }
  void add(std::size_t n) { held_ += n; }
  void release() {
    if (held_) budget_.fetch_sub(held_, std::memory_order_relaxed);
    held_ = 0;
  }
  std::size_t held() const { return held_; }

 private:
  std::atomic<std::size_t>& budget_;
  std::size_t held_ = 0;
};

class InFlightCount {
 public:
  explicit InFlightCount(std::atomic<std::int64_t>& n) : n_(&n) {
    n_->fetch_add(1, std::memory_order_relaxed);
  }
  InFlightCount(const InFlightCount&) = delete;
  InFlightCount& operator=(const InFlightCount&) = delete;
  ~InFlightCount() { release(); }
  void release() {
    if (n_) n_->fetch_sub(1, std::memory_order_relaxed);
    n_ = nullptr;
  }

 private:
  std::atomic<std::int64_t>* n_;
};

}  // namespace

bool Server::reserve_body(std::size_t n) {
  const std::size_t before = body_bytes_.fetch_add(n, std::memory_order_relaxed);
  if (before + n <= options_.max_body_budget_bytes) return true;
  body_bytes_.fetch_sub(n, std::memory_order_relaxed);
  return false;
}

awaitable<void> Server::accept_loop(Worker& w, unsigned index) {
  asio::steady_timer backoff(w.io);
  bool warned = false;
  for (;;) {
    auto [ec, socket] = co_await w.acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor.is_open()) co_return;
      if (out_of_resources(ec)) {
        if (!warned)
          spdlog::warn("accept failed ({}): keeping the connections we have, retrying every {} ms",
                       ec.message(), options_.accept_backoff.count());
        warned = true;
        backoff.expires_after(options_.accept_backoff);
        co_await backoff.async_wait(kNoThrow);
      }
      continue;
    }
    warned = false;
    socket.set_option(tcp::no_delay(true), ec);
    if (connections_.fetch_add(1, std::memory_order_relaxed) >=
        static_cast<std::int64_t>(max_connections_)) {
      connections_.fetch_sub(1, std::memory_order_relaxed);
      if (rejecting_.fetch_add(1, std::memory_order_relaxed) >= max_rejecting(max_connections_)) {
        rejecting_.fetch_sub(1, std::memory_order_relaxed);
        continue;  // the socket closes here
      }
      asio::co_spawn(w.io,
                     reject(DeadlineStream(std::move(socket)), ConnectionSlot(&rejecting_)),
                     [](std::exception_ptr e) { log_exception(e, "rejecting a connection"); });
      continue;
    }
    asio::co_spawn(
        w.io, session(DeadlineStream(std::move(socket)), index, ConnectionSlot(&connections_)),
        [](std::exception_ptr e) { log_exception(e, "a client connection"); });
  }
}

awaitable<void> Server::reject(DeadlineStream stream, ConnectionSlot slot) {
  // Read the request's header first (briefly), so that the answer follows a request the client has
  // sent and the close does not reset a connection with unread bytes.
  constexpr auto kBrief = std::chrono::seconds(1);
  beast::flat_buffer buffer;
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  stream.expires_after(kBrief);
  auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kNoThrow);
  if (hec == bhttp::error::end_of_stream || hec == asio::error::eof ||
      hec == asio::error::connection_reset) {
    stream.close();
    co_return;
  }
  if (options_.on_refused) options_.on_refused("overloaded");
  auto r = overloaded_response("too many connections");
  stream.expires_after(std::min<std::chrono::milliseconds>(options_.write_timeout, kBrief));
  auto [wec, wn] = co_await bhttp::async_write(stream, r, kNoThrow);
  if (wec) {
    stream.close();
    co_return;
  }
  co_await linger_close(stream, kBrief, 1u << 20);
}

awaitable<void> Server::session(DeadlineStream stream, unsigned worker, ConnectionSlot slot) {
  // Bounded: a request head is at most max_header_bytes, a body moves into the request as it is
  // parsed, and a chunk-size line or trailer that never ends fails with buffer_overflow once this
  // is full (Beast's header limit does not cover them).
  const std::size_t max_buffered = options_.max_header_bytes + kMaxChunkFraming;
  beast::flat_buffer buffer(max_buffered);
  for (;;) {
    BodyHold body_hold(body_bytes_);  // declared first: released after the request is gone
    bhttp::request_parser<ArrivingBody> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    // No body limit while reading the header: Beast would fail the header read itself on a large
    // Content-Length, and that request deserves a 413 with a decision record, not a 400.
    parser.body_limit(boost::none);

    stream.expires_after(options_.idle_timeout);
    const auto hec = co_await read_message(stream, buffer, parser, false);
    parser.body_limit(options_.max_body_bytes);
    if (hec) {
      // Oversized or malformed headers get a terse 4xx; timeouts and closes just end the connection.
      if (hec == bhttp::error::header_limit || is_malformed(hec)) {
        Response r{hec == bhttp::error::header_limit
                       ? bhttp::status::request_header_fields_too_large
                       : bhttp::status::bad_request,
                   11};
        r.set(bhttp::field::content_type, "application/json");
        r.body() = hec == bhttp::error::header_limit
                       ? R"({"error":{"message":"request header too large","type":"invalid_request_error","code":"header_too_large","param":null}})"
                       : R"({"error":{"message":"malformed HTTP request","type":"invalid_request_error","code":"bad_http","param":null}})";
        r.keep_alive(false);
        r.prepare_payload();
        if (options_.on_refused)
          options_.on_refused(hec == bhttp::error::header_limit ? "header_too_large" : "bad_http");
        stream.expires_after(options_.write_timeout);
        co_await bhttp::async_write(stream, r, kNoThrow);
      }
      break;
    }
    if (const std::string_view t = parser.get().target(); !t.starts_with('/'))
      parser.get().target(origin_form(t));  // (http/request_head.h)
    InFlightCount in_flight(in_flight_);
    std::optional<Error> read_error;
    bool over_budget = false;
    auto length = parser.content_length();
    const bool too_large = length && *length > options_.max_body_bytes;
    // curl and libcurl send `Expect: 100-continue` before a large body and wait a second for an
    // interim 100 before sending it anyway. Never sent to a request that will be refused without
    // its body, nor to HTTP/1.0 (which has no 1xx).
    const bool send_continue = expects_continue(parser.get()) && parser.get().version() >= 11;
    auto continue_body = [&]() -> awaitable<bool> {
      if (!send_continue) co_return true;
      stream.expires_after(options_.write_timeout);
      auto [cec, cn] = co_await asio::async_write(
          stream, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), kNoThrow);
      co_return !cec;
    };
    if (auto refused = options_.check_head ? options_.check_head(parser.get().base()) : std::nullopt) {
      read_error = std::move(*refused);
    } else if (too_large) {
      read_error = payload_too_large(options_.max_body_bytes);
    } else if (auto unframed = unframed_body(parser.get().base(), parser.chunked())) {
      read_error = std::move(*unframed);  // (http/request_head.h)
      if (options_.on_refused) options_.on_refused("bad_http");  // also when the handler records it
    } else if (auto host = host_error(parser.get().base(), parser.get().version())) {
      read_error = std::move(*host);
      if (options_.on_refused) options_.on_refused("bad_http");
    } else {
      // Content-Length or chunked: the budget is taken as the body arrives (a declared length
      // holds nothing before its bytes do: idle senders cannot starve the others).
      if (send_continue && !parser.is_done() && !co_await continue_body()) break;
      stream.expires_after(options_.body_timeout);
      parser.eager(true);
      bool failed = false;
      while (!parser.is_done()) {
        const auto bec = co_await read_some_into(stream, buffer, parser);
        if (bec == bhttp::error::body_limit) {
          read_error = payload_too_large(options_.max_body_bytes);
          break;
        }
        if (bec == bhttp::error::buffer_overflow) {
          read_error = make_error(ErrorKind::kBadRequest, "bad_http",
                                  "a chunk-size line or trailer of the request body is longer "
                                  "than " + std::to_string(max_buffered) + " bytes");
          break;
        }
        if (bec && is_malformed(bec)) {
          read_error = make_error(ErrorKind::kBadRequest, "bad_http",
                                  "malformed request body framing (" + bec.message() + ")");
          break;
        }
        if (bec) {
          failed = true;  // the client left or was too slow: nobody to answer
          break;
        }
        const std::size_t size = parser.get().body().size();
        if (size > body_hold.held()) {
          if (!reserve_body(size - body_hold.held())) {
            over_budget = true;
            break;
          }
          body_hold.add(size - body_hold.held());
        }
      }
      if (failed) break;
    }
    if (over_budget) {
      // Nothing of the body is kept; the handler answers (in its API's shape, recorded) from the
      // head alone, and the connection lingers and closes like after any other read error.
      parser.get().body() = std::string();
      body_hold.release();
      read_error = overloaded_error("request bodies in memory are over the server's budget");
    }
    auto parsed = parser.release();
    Request request(std::move(parsed.base()), std::move(parsed.body()));
    Exchange exchange(stream, request, worker, options_.write_timeout);
    exchange.set_memory_hold([this, &body_hold](std::size_t bytes) -> std::optional<Error> {
      const std::size_t budget = options_.max_body_budget_bytes;
      if (body_hold.held() + bytes > budget)
        return make_error(ErrorKind::kPayloadTooLarge, "request_too_large",
                          "request too large: what its body parses into needs " +
                              std::to_string(body_hold.held() + bytes) +
                              " bytes of memory, over the server's budget of " +
                              std::to_string(budget) + " (server.max_body_budget_bytes)");
      if (!reserve_body(bytes))
        return overloaded_error("request bodies in memory are over the server's budget");
      body_hold.add(bytes);
      return std::nullopt;
    });
    exchange.pipelined_ = buffer.size() > 0;
    exchange.keep_alive_hint_ = keep_alive_hint_;
    exchange.draining_ = &draining_;
    if (read_error) exchange.set_read_error(std::move(*read_error));
    if (draining()) exchange.set_close_after();
    bool crashed = false;
    try {
      co_await handler_(exchange);
    } catch (const std::exception& e) {
      spdlog::error("handler of {} {} failed: {}", std::string_view(request.method_string()),
                    std::string_view(request.target()), e.what());
      crashed = true;
    } catch (...) {
      spdlog::error("handler of {} {} failed with an exception of unknown type",
                    std::string_view(request.method_string()), std::string_view(request.target()));
      crashed = true;
    }
    if (crashed) exchange.set_close_after();
    if (!exchange.responded() && exchange.peer_gone()) break;  // nobody to answer
    if (!exchange.responded()) {
      Response r{bhttp::status::internal_server_error, 11};
      r.set(bhttp::field::content_type, "application/json");
      r.body() =
          R"({"error":{"message":"internal error","type":"server_error","code":"internal","param":null}})";
      exchange.set_close_after();
      co_await exchange.respond(std::move(r));
    }
    if (exchange.read_error()) {
      request.body() = std::string();
      body_hold.release();
      in_flight.release();
      co_await linger_close(stream);
      co_return;
    }
    if (exchange.close_after() || !exchange.client_keeps_alive() || draining()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace switchboard::http
