#include "http/server.h"

#include <sys/socket.h>

#include <thread>

namespace switchboard::http {

using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

// ---------------------------------------------------------------- Exchange

Exchange::Exchange(beast::tcp_stream& stream, Request& request, unsigned worker,
                   std::chrono::milliseconds write_timeout)
    : stream_(stream), request_(request), worker_(worker), write_timeout_(write_timeout) {
  keep_alive_ = request_.keep_alive();
}

awaitable<bool> Exchange::respond(Response response) {
  responded_ = true;
  response.keep_alive(keep_alive_ && !close_after_);
  response.prepare_payload();
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await bhttp::async_write(stream_, response, kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::start_stream(ResponseHead head) {
  responded_ = true;
  head.keep_alive(keep_alive_ && !close_after_);
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::write_chunk(std::string_view data) {
  if (data.empty()) co_return true;  // an empty chunk would end the body
  stream_.expires_after(write_timeout_);
  auto [ec, n] = co_await asio::async_write(
      stream_, bhttp::make_chunk(asio::const_buffer(data.data(), data.size())), kNoThrow);
  if (ec) close_after_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::finish_stream() {
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
    : options_(std::move(options)), handler_(std::move(handler)) {}

Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::create(ServerOptions options, Handler handler) {
  std::unique_ptr<Server> server(new Server(std::move(options), std::move(handler)));
  unsigned n = server->options_.threads ? server->options_.threads
                                        : std::max(1u, std::thread::hardware_concurrency());
  boost::system::error_code ec;
  auto address = asio::ip::make_address(server->options_.host, ec);
  if (ec) {
    return make_error(ErrorKind::kInternal, "bad_listen_address",
                      "cannot parse listen host '" + server->options_.host + "'");
  }
  uint16_t port = server->options_.port;
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
    asio::co_spawn(workers_[i]->io, accept_loop(*workers_[i]), asio::detached);
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

awaitable<void> Server::accept_loop(Worker& w) {
  unsigned index = 0;
  for (unsigned i = 0; i < workers_.size(); ++i)
    if (workers_[i].get() == &w) index = i;
  for (;;) {
    auto [ec, socket] = co_await w.acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor.is_open()) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(w.io, session(beast::tcp_stream(std::move(socket)), index), asio::detached);
  }
}

namespace {

Error payload_too_large(std::size_t limit) {
  return make_error(ErrorKind::kPayloadTooLarge, "request_too_large",
                    "request body exceeds the limit of " + std::to_string(limit) + " bytes");
}

// After answering a request whose body we did not read, closing at once would make the kernel
// reset the connection and the client could lose our answer. Read and discard for a while first.
awaitable<void> linger_close(beast::tcp_stream& stream) {
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 64 * 1024> sink;
  std::size_t total = 0;
  while (total < (256u << 20)) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    total += n;
  }
  stream.close();
}

}  // namespace

awaitable<void> Server::session(beast::tcp_stream stream, unsigned worker) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    // No body limit while reading the header: Beast would fail the header read itself on a large
    // Content-Length, and that request deserves a 413 with a decision record, not a 400.
    parser.body_limit(boost::none);

    stream.expires_after(options_.idle_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kNoThrow);
    parser.body_limit(options_.max_body_bytes);
    if (hec) {
      // Oversized or malformed headers get a terse 4xx; timeouts and closes just end the connection.
      if (hec == bhttp::error::header_limit ||
          (hec.category() == make_error_code(bhttp::error::bad_target).category() &&
           hec != bhttp::error::end_of_stream && hec != bhttp::error::partial_message)) {
        Response r{hec == bhttp::error::header_limit
                       ? bhttp::status::request_header_fields_too_large
                       : bhttp::status::bad_request,
                   11};
        r.set(bhttp::field::content_type, "application/json");
        r.body() = hec == bhttp::error::header_limit
                       ? R"({"error":{"message":"request header too large","type":"invalid_request_error","code":"header_too_large"}})"
                       : R"({"error":{"message":"malformed HTTP request","type":"invalid_request_error","code":"bad_http"}})";
        r.keep_alive(false);
        r.prepare_payload();
        stream.expires_after(options_.write_timeout);
        co_await bhttp::async_write(stream, r, kNoThrow);
      }
      break;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    std::optional<Error> read_error;
    auto length = parser.content_length();
    if (length && *length > options_.max_body_bytes) {
      read_error = payload_too_large(options_.max_body_bytes);
    } else {
      stream.expires_after(options_.body_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
      if (bec == bhttp::error::body_limit) {
        read_error = payload_too_large(options_.max_body_bytes);
      } else if (bec) {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        break;  // client vanished or too slow: nobody to answer
      }
    }
    Request request = parser.release();
    Exchange exchange(stream, request, worker, options_.write_timeout);
    if (read_error) exchange.set_read_error(std::move(*read_error));
    if (draining()) exchange.set_close_after();
    try {
      co_await handler_(exchange);
    } catch (const std::exception&) {
      exchange.set_close_after();
    }
    if (!exchange.responded()) {
      Response r{bhttp::status::internal_server_error, 11};
      r.set(bhttp::field::content_type, "application/json");
      r.body() = R"({"error":{"message":"internal error","type":"server_error","code":"internal"}})";
      exchange.set_close_after();
      co_await exchange.respond(std::move(r));
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (exchange.read_error()) {
      co_await linger_close(stream);
      co_return;
    }
    if (exchange.close_after() || !request.keep_alive() || draining()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace switchboard::http
