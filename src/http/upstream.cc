#include "http/upstream.h"

#include "http/read.h"
#include "http/wire.h"
#include "switchboard/ascii.h"

#include <openssl/ssl.h>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <optional>

namespace switchboard::http {

using asio::awaitable;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using TlsStream = beast::ssl_stream<DeadlineStream>;
constexpr std::size_t kMaxBuffered = 128 * 1024;  // of a connection's unparsed bytes

struct UpstreamCall::Connection {
  std::unique_ptr<DeadlineStream> plain;
  std::unique_ptr<TlsStream> tls;
  // Bounded: a response head is at most the parser's header limit (8 KiB), and a chunk-size line
  // or a trailer that never ends fails with buffer_overflow once this is full, instead of growing
  // the gateway without limit.
  beast::flat_buffer buffer{kMaxBuffered};
  // Where response bodies are read into: allocated (not zeroed) once per connection and reused by
  // every call on it, instead of a fresh buffer per call.
  static constexpr std::size_t kChunk = 16 * 1024;
  std::unique_ptr<char[]> chunk{new char[kChunk]};
  bool reused = false;
  Clock::time_point idle_since;  // when it was returned to the pool

  DeadlineStream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  // Bytes the TLS layer took off the socket and has not handed out yet (records read ahead with
  // the last one the answer needed): the socket's peek cannot see them.
  bool tls_holds_bytes() {
    if (!tls) return false;
    SSL* ssl = tls->native_handle();
    return SSL_has_pending(ssl) || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
  }
  // Calls f with whichever stream this connection has; both branches return the same type.
  template <typename F>
  auto visit(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }
};

namespace {

Error unreachable(const std::string& what, const boost::system::error_code& ec) {
  return make_error(ErrorKind::kUpstreamError, "upstream_unreachable", what + ": " + ec.message());
}

Error timed_out(const std::string& what) {
  return make_error(ErrorKind::kUpstreamTimeout, "upstream_timeout", what + " timed out");
}

Error classify(const std::string& what, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return timed_out(what);
  // Cancelled by the caller (a plan's deadline, a hedge that lost, shutdown): says nothing of the
  // upstream, so not `upstream_unreachable`, which counts against the replica's health.
  if (ec == asio::error::operation_aborted)
    return make_error(ErrorKind::kUpstreamError, "cancelled", what + ": cancelled");
  if (ec == bhttp::error::buffer_overflow)
    return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                      what + ": a chunk-size line or trailer longer than " +
                          std::to_string(kMaxBuffered) + " bytes");
  // The bytes came but are not HTTP (a garbage status line, headers past the limit, broken
  // framing): an answer that is wrong, not a server out of reach. A close (before or within the
  // answer) is the latter.
  if (ec.category() == make_error_code(bhttp::error::bad_version).category() &&
      ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message)
    return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                      what + ": not an HTTP answer (" + ec.message() + ")");
  return unreachable(what, ec);
}

// The operation under way on `target` interrupted by a CallCanceller (the client left).
void interrupt(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.cancel(ignored);
}
void interrupt(tcp::resolver& resolver) { resolver.cancel(); }
// A connect over several addresses goes on to the next one after a cancel: only closing the socket
// stops it.
struct Connecting {
  tcp::socket& socket;
};
void interrupt(Connecting& c) {
  boost::system::error_code ignored;
  c.socket.close(ignored);
}

// While it lives, `canceller` (when there is one) interrupts the operation on `target`.
template <typename T>
class Interrupting {
 public:
  Interrupting(CallCanceller* canceller, T& target) : canceller_(canceller) {
    if (canceller_)
      canceller_->set_interrupt(+[](void* t) { interrupt(*static_cast<T*>(t)); }, &target);
  }
  ~Interrupting() {
    if (canceller_) canceller_->clear_interrupt();
  }
  Interrupting(const Interrupting&) = delete;
  Interrupting& operator=(const Interrupting&) = delete;

 private:
  CallCanceller* canceller_;
};

bool stopped(const CallCanceller* canceller) { return canceller && canceller->cancelled(); }

// True for errors a reused keep-alive connection shows when the server closed it while idle.
bool stale_connection(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

}  // namespace

std::unique_ptr<asio::ssl::context> make_client_tls_context() {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_default_verify_paths();
  ctx->set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

// ---------------------------------------------------------------- UpstreamCall

UpstreamCall::UpstreamCall(std::shared_ptr<UpstreamClient> client, std::size_t key,
                           std::unique_ptr<Connection> conn)
    : client_(std::move(client)), key_(key), conn_(std::move(conn)) {}

UpstreamCall::~UpstreamCall() {
  // Only a connection with no bytes left over goes back to the pool: bytes after the answer (a
  // 204 or 304 that came with a body, a misframed answer) would be read as the next call's answer.
  if (conn_ && done_ && !failed_ && parser_.keep_alive() && conn_->buffer.size() == 0 &&
      !conn_->tls_holds_bytes()) {
    client_->release(key_, std::move(conn_));
  }
}

void UpstreamCall::cancel() {
  cancelled_ = true;
  failed_ = true;
  if (!conn_) return;
  boost::system::error_code ec;
  conn_->lowest().socket().cancel(ec);
}

awaitable<Result<std::string_view>> UpstreamCall::read_some(Clock::time_point deadline) {
  if (done_) co_return std::string_view{};
  // Sticky: a cancel() that came while no read was pending stops the next one.
  if (cancelled_) co_return classify("reading the upstream response", asio::error::operation_aborted);
  conn_->lowest().expires_at(deadline);
  for (;;) {
    parser_.body(conn_->chunk.get(), Connection::kChunk);
    auto ec =
        co_await conn_->visit([&](auto& s) { return read_some_into(s, conn_->buffer, parser_); });
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      failed_ = true;
      co_return classify("reading the upstream response", ec);
    }
    std::size_t got = Connection::kChunk - parser_.body_left();
    if (parser_.is_done()) done_ = true;
    if (got > 0 || done_) co_return std::string_view(conn_->chunk.get(), got);
  }
}

awaitable<Result<std::string>> UpstreamCall::read_all(std::size_t limit, Clock::time_point deadline) {
  std::string out;
  for (;;) {
    auto piece = co_await read_some(deadline);
    if (!piece) co_return piece.error();
    if (piece->empty() && done_) co_return out;
    if (out.size() + piece->size() > limit) {
      failed_ = true;
      co_return make_error(ErrorKind::kUpstreamError, "upstream_response_too_large",
                           "upstream response exceeds " + std::to_string(limit) + " bytes");
    }
    out.append(*piece);
    if (done_) co_return out;
  }
}

// ---------------------------------------------------------------- UpstreamClient

UpstreamClient::UpstreamClient(asio::io_context& io, asio::ssl::context& tls,
                               std::size_t max_idle_per_key, std::chrono::milliseconds idle_timeout)
    : io_(io),
      tls_(tls),
      max_idle_per_key_(max_idle_per_key),
      idle_timeout_(idle_timeout),
      sweeper_(io) {}

UpstreamClient::~UpstreamClient() = default;

std::size_t UpstreamClient::idle_connections() const {
  std::size_t n = 0;
  for (const auto& [_, v] : idle_) n += v.size();
  return n;
}

void UpstreamClient::release(std::size_t key, std::unique_ptr<Connection> conn) {
  auto& pool = idle_[key];
  if (pool.size() >= max_idle_per_key_) return;  // dropping it closes it
  conn->reused = true;
  conn->lowest().expires_never();
  conn->idle_since = Clock::now();
  if (!sweep_armed_) arm_sweep(conn->idle_since + idle_timeout_);
  pool.push_back(std::move(conn));
}

std::unique_ptr<UpstreamCall::Connection> UpstreamClient::take_idle(std::size_t key,
                                                                    Clock::time_point now) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto& pool = it->second;
  while (!pool.empty()) {
    std::unique_ptr<Connection> conn = std::move(pool.back());
    pool.pop_back();
    if (now - conn->idle_since >= idle_timeout_) {
      pool.clear();  // the newest has expired, so have the older ones: close them all
      return nullptr;
    }
    if (quiet(*conn)) return conn;
    // Bytes that came while it idled (a late tail of the last answer, a response nobody asked
    // for) would be read as the next call's answer, and an end of stream is the server's close:
    // dropped, and the next idle one tried.
  }
  return nullptr;
}

bool UpstreamClient::quiet(Connection& conn) {
  if (conn.tls_holds_bytes()) return false;
  char byte;
  const ssize_t n = ::recv(conn.lowest().socket().native_handle(), &byte, 1,
                           MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void UpstreamClient::arm_sweep(Clock::time_point at) {
  sweep_armed_ = true;
  // A little later than the first expiry, so that one sweep closes a batch.
  sweeper_.expires_at(at + idle_timeout_ / 8);
  sweeper_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->sweep();
  });
}

void UpstreamClient::sweep() {
  sweep_armed_ = false;
  const auto now = Clock::now();
  std::optional<Clock::time_point> next;
  for (auto& [key, pool] : idle_) {
    auto alive = std::find_if(pool.begin(), pool.end(),
                              [&](const auto& c) { return now - c->idle_since < idle_timeout_; });
    pool.erase(pool.begin(), alive);  // closes them
    if (!pool.empty() && (!next || pool.front()->idle_since + idle_timeout_ < *next))
      next = pool.front()->idle_since + idle_timeout_;
  }
  if (next) arm_sweep(*next);
}

namespace {
// How messages call the upstream (UpstreamTarget::name, else host:port, or the host alone where a
// port means nothing). Out of the coroutines, whose frames keep such temporaries.
[[gnu::noinline]] std::string who(const UpstreamTarget& target) {
  return target.name.empty() ? target.url->authority() : std::string(target.name);
}
[[gnu::noinline]] std::string host_of(const UpstreamTarget& target) {
  return target.name.empty() ? target.url->host : "the host of " + std::string(target.name);
}
}  // namespace

awaitable<Result<std::unique_ptr<UpstreamCall::Connection>>> UpstreamClient::connect(
    const UpstreamTarget& target, Clock::time_point deadline, CallCanceller* canceller) {
  const config::Url& url = *target.url;
  if (stopped(canceller))  // before a name lookup that nobody waits for
    co_return classify("resolving " + host_of(target), asio::error::operation_aborted);
  tcp::resolver resolver(io_);
  std::optional<Interrupting<tcp::resolver>> resolving(std::in_place, canceller, resolver);
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, kNoThrow);
  resolving.reset();
  if (rec == asio::error::operation_aborted || stopped(canceller))
    co_return classify("resolving " + host_of(target), asio::error::operation_aborted);
  if (rec) co_return unreachable("resolving " + host_of(target), rec);
  auto conn = std::make_unique<Connection>();
  if (url.tls) {
    conn->tls = std::make_unique<TlsStream>(io_, tls_);
  } else {
    conn->plain = std::make_unique<DeadlineStream>(io_);
  }
  auto& lowest = conn->lowest();
  // The connect bound, when it comes before the deadline: its expiry is a replica out of reach.
  const auto connect_by = target.connect_timeout.count() > 0
                              ? std::min(deadline, Clock::now() + target.connect_timeout)
                              : deadline;
  const auto failed = [&](const std::string& what, const boost::system::error_code& ec) {
    if (ec == beast::error::timeout && connect_by < deadline)
      return make_error(ErrorKind::kUpstreamError, "upstream_unreachable",
                        what + ": no connection within " +
                            std::to_string(target.connect_timeout.count()) + " ms");
    return classify(what, ec);
  };
  lowest.expires_at(connect_by);
  Connecting closing{lowest.socket()};
  std::optional<Interrupting<Connecting>> connecting(std::in_place, canceller, closing);
  auto [cec, ep] = co_await lowest.async_connect(endpoints, kNoThrow);
  connecting.reset();
  if (stopped(canceller))  // the socket was closed under the connect
    co_return classify("connecting to " + who(target), asio::error::operation_aborted);
  if (cec) co_return failed("connecting to " + who(target), cec);
  const Interrupting<tcp::socket> handshaking(canceller, lowest.socket());
  boost::system::error_code ignored;
  lowest.socket().set_option(tcp::no_delay(true), ignored);
  if (conn->tls) {
    // SNI carries host names only (RFC 6066 3), not IP literals.
    boost::system::error_code not_ip;
    asio::ip::make_address(url.host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str()))
      co_return make_error(ErrorKind::kUpstreamError, "upstream_unreachable", "cannot set TLS SNI");
    conn->tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (hec) co_return failed("TLS handshake with " + host_of(target), hec);
  }
  if (stopped(canceller))
    co_return classify("connecting to " + who(target), asio::error::operation_aborted);
  co_return conn;
}

namespace {
// Out of start(): GCC keeps a coroutine's temporaries in its frame, and a frame over 1020 bytes is
// never recycled by asio (thread_info_base: one byte counts 4-byte chunks).
// A final answer no API gives: a redirect (not followed), a status below 100 or past 599, or a
// body in a content coding (never asked for).
[[gnu::noinline]] Error unusable_answer(const UpstreamTarget& target, unsigned status,
                                                       bool encoded) {
  std::string why;
  if (status < 100 || status > 599)
    why = "an invalid status " + std::to_string(status);
  else if (status >= 300 && status < 400)
    why = std::to_string(status) + " (a redirect: not followed)";
  else
    why = "a body in a Content-Encoding (none was asked for)";
  return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                    who(target) + " answered " + why);
}

[[gnu::noinline]] Error interim_error(const UpstreamTarget& target, unsigned status) {
  return make_error(ErrorKind::kUpstreamError, "upstream_bad_answer",
                    who(target) + " answered " + std::to_string(status) +
                        (status == 101 ? " (a protocol switch)" : " too many times") +
                        " instead of a final answer");
}
}  // namespace

awaitable<Result<std::unique_ptr<UpstreamCall>>> UpstreamClient::start(const UpstreamTarget& target,
                                                                       const UpstreamRequest& request,
                                                                       Clock::time_point deadline) {
  const auto& url = *target.url;
  const std::string_view host = url.host_header.empty() ? url.host : url.host_header;
  const bool sized = !request.body.empty() ||
                     (request.method != bhttp::verb::get && request.method != bhttp::verb::head);
  std::size_t size = 96 + request.target.size() + host.size() + target.authorization.size();
  bool valid = header_value_ok(request.target) && request.target.find(' ') == std::string_view::npos &&
               header_value_ok(host) && header_value_ok(target.authorization);
  bool accept_encoding = false;  // the caller's own Accept-Encoding replaces "identity"
  for (const auto& [name, value] : request.headers) {
    valid = valid && header_name_ok(name) && header_value_ok(value);
    accept_encoding = accept_encoding || ascii_iequals(name, "accept-encoding");
    size += name.size() + value.size() + 4;
  }
  if (!valid)
    co_return make_error(ErrorKind::kUpstreamError, "upstream_bad_request",
                         "the upstream request has a malformed target or header");
  using namespace std::string_view_literals;
  std::string head;
  head.reserve(size);
  const auto method = bhttp::to_string(request.method);
  head.append(method.data(), method.size()).append(" "sv).append(request.target);
  head.append(" HTTP/1.1\r\nHost: "sv).append(host).append("\r\n"sv);
  // No content coding is read (an encoded answer is upstream_bad_answer): said, since a request
  // without Accept-Encoding accepts any (RFC 9110 12.5.3).
  if (!accept_encoding) head.append("Accept-Encoding: identity\r\n"sv);
  for (const auto& [name, value] : request.headers)
    head.append(name).append(": "sv).append(value).append("\r\n"sv);
  if (!target.authorization.empty())
    head.append("Authorization: "sv).append(target.authorization).append("\r\n"sv);
  if (sized) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, request.body.size());
    head.append("Content-Length: "sv).append(digits, end).append("\r\n"sv);
  }
  head.append("\r\n"sv);
  const std::array<asio::const_buffer, 2> message{
      asio::buffer(head), asio::const_buffer(request.body.data(), request.body.size())};

  CallCanceller* const canceller = request.canceller;
  if (stopped(canceller))  // before a pooled connection is taken (and thrown away)
    co_return classify("sending to " + who(target), asio::error::operation_aborted);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn;
    if (attempt == 0) conn = take_idle(target.pool_key, Clock::now());
    if (!conn) {
      auto fresh = co_await connect(target, deadline, canceller);
      if (!fresh) co_return fresh.error();
      conn = std::move(*fresh);
    }
    // Checked before each operation: a cancel() that came while the last one's completion was
    // already queued interrupted nothing.
    if (stopped(canceller))
      co_return classify("sending to " + who(target), asio::error::operation_aborted);
    const Interrupting<tcp::socket> on_socket(canceller, conn->lowest().socket());
    const bool reused = conn->reused;
    conn->lowest().expires_at(deadline);
    auto [wec, wn] = co_await conn->visit([&](auto& s) { return asio::async_write(s, message, kNoThrow); });
    if (wec) {
      if (reused && stale_connection(wec)) continue;
      co_return classify("sending to " + who(target), wec);
    }
    const auto written = Clock::now();
    if (request.sent) *request.sent = true;
    std::unique_ptr<UpstreamCall> call;
    boost::system::error_code hec;
    // Interim answers (100 Continue, 103 Early Hints) are skipped: the final one follows on the
    // same connection. A few at most; 101 (a protocol switch nobody asked for) is an error.
    int interim = 0;
    for (;; ++interim) {
      call.reset(new UpstreamCall(shared_from_this(), target.pool_key,
                                  call ? std::move(call->conn_) : std::move(conn)));
      call->parser_.body_limit(boost::none);
      auto& c = *call->conn_;
      if (stopped(canceller)) {
        call->failed_ = true;
        co_return classify("waiting for " + who(target), asio::error::operation_aborted);
      }
      hec = co_await c.visit(
          [&](auto& s) { return read_message(s, c.buffer, call->parser_, false); });
      const unsigned status = call->parser_.status();
      if (hec || status >= 200 || status < 100) break;
      if (status == 101 || interim == 8) {
        call->failed_ = true;
        co_return interim_error(target, status);
      }
    }
    if (hec) {
      call->failed_ = true;
      // A reused connection the server had closed while it sat idle fails at once, before any
      // byte: send again on a fresh one. Not when the failure came later: the server may have
      // read and run the request before dropping it, and a second copy would run it twice (that
      // is a failed attempt, for the caller's retry policy to judge).
      constexpr auto kStaleWindow = std::chrono::milliseconds(100);
      // An interim answer proves the request arrived: never sent again.
      if (reused && interim == 0 && stale_connection(hec) && call->conn_->buffer.size() == 0 &&
          Clock::now() - written < kStaleWindow) {
        // Most likely it never reached the server (which closed the connection as it sat idle),
        // but a server that read it and dropped the connection looks the same: counted.
        if (request.sent) *request.sent = false;
        if (request.resent) ++*request.resent;
        continue;
      }
      co_return classify("waiting for " + who(target), hec);
    }
    if (const unsigned status = call->parser_.status();
        call->parser_.encoded() || status < 200 || (status >= 300 && status < 400) || status > 599) {
      call->failed_ = true;
      co_return unusable_answer(target, status, call->parser_.encoded());
    }
    if (call->parser_.is_done()) call->done_ = true;  // e.g. 204 or empty body
    co_return call;
  }
}

}  // namespace switchboard::http
