// DeadlineStream (http/deadline_stream.h) over loopback sockets: a pending operation times out at
// the deadline and not before; a deadline moved forward keeps a busy stream open; a deadline that
// passes with nothing pending closes nothing until the next operation; an earlier deadline re-arms
// the timer; expires_never disarms it; per-operation cancellation still reaches the socket; and
// the upstream client speaks TLS through it (asio::ssl over DeadlineStream).
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <string>

#include "http/deadline_stream.h"
#include "http/upstream.h"

namespace switchboard::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A connected pair on loopback: `stream` under test, `peer` a plain socket.
struct Pair {
  asio::io_context io;
  DeadlineStream stream{io};
  tcp::socket peer{io};
  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    stream.socket().connect(acceptor.local_endpoint());
    acceptor.accept(peer);
  }
  // Runs `body` to completion on the io_context (the stream's timer may still be armed then).
  void run(std::function<asio::awaitable<void>()> body) {
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
      failure = e;
      io.stop();
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
  }
  // Reads one byte from `stream`: it must arrive, and be `want`.
  asio::awaitable<void> expect_byte(char want) {
    char byte = 0;
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(byte, want);
  }
  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(io, d);
    co_await t.async_wait(kNoThrow);
  }
};

TEST(DeadlineStream, APendingReadTimesOutAtTheDeadlineAndNotBefore) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    char byte;
    const auto start = SteadyClock::now();
    p.stream.expires_after(100ms);
    auto [ec, n] = co_await p.stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    EXPECT_EQ(ec, beast::error::timeout);
    EXPECT_GE(SteadyClock::now() - start, 100ms);
    EXPECT_FALSE(p.stream.socket().is_open());  // closed by the deadline, as beast::tcp_stream does
  });
}

TEST(DeadlineStream, ADeadlineMovedForwardKeepsABusyStreamOpen) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    // 8 reads 50 ms apart (400 ms) under a deadline of 150 ms set before each read.
    for (int i = 0; i < 8; ++i) {
      p.stream.expires_after(150ms);
      asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
        co_await p.sleep(50ms);
        co_await asio::async_write(p.peer, asio::buffer("x", 1), kNoThrow);
      }, asio::detached);
      char byte;
      auto [ec, n] = co_await p.stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
      EXPECT_FALSE(ec) << "read " << i << ": " << ec.message();
    }
  });
}

TEST(DeadlineStream, ADeadlinePassedWithNothingPendingClosesNothing) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    p.stream.expires_after(50ms);
    co_await p.sleep(150ms);  // the deadline passes while no operation is pending
    EXPECT_TRUE(p.stream.socket().is_open());
    p.stream.expires_after(5s);  // a new deadline before the next operation
    co_await asio::async_write(p.peer, asio::buffer("y", 1), kNoThrow);
    co_await p.expect_byte('y');
  });
}

TEST(DeadlineStream, AnOperationStartedAfterThePassedDeadlineTimesOutAtOnce) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    p.stream.expires_after(50ms);
    co_await p.sleep(150ms);
    co_await asio::async_write(p.peer, asio::buffer("z", 1), kNoThrow);  // data is even waiting
    char byte;
    auto [ec, n] = co_await p.stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    // The read itself may complete at once from the buffered byte before the timer's handler
    // runs; the one after it cannot.
    if (!ec) std::tie(ec, n) = co_await p.stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    EXPECT_EQ(ec, beast::error::timeout);
  });
}

TEST(DeadlineStream, AnEarlierDeadlineReArmsTheTimer) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    const auto start = SteadyClock::now();
    p.stream.expires_after(30s);
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
      co_await p.sleep(20ms);
      p.stream.expires_after(50ms);  // while the read below is pending
    }, asio::detached);
    char byte;
    auto [ec, n] = co_await p.stream.async_read_some(asio::buffer(&byte, 1), kNoThrow);
    EXPECT_EQ(ec, beast::error::timeout);
    EXPECT_LT(SteadyClock::now() - start, 10s);
  });
}

TEST(DeadlineStream, ExpiresNeverDisarmsTheDeadline) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    p.stream.expires_after(50ms);
    p.stream.expires_never();
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
      co_await p.sleep(200ms);
      co_await asio::async_write(p.peer, asio::buffer("n", 1), kNoThrow);
    }, asio::detached);
    co_await p.expect_byte('n');
  });
}

TEST(DeadlineStream, CancellationOfOneOperationReachesTheSocketAndKeepsItOpen) {
  Pair p;
  p.run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    char byte = 0;
    asio::steady_timer t(p.io, 50ms);
    auto first = co_await (p.stream.async_read_some(asio::buffer(&byte, 1), asio::use_awaitable) ||
                           t.async_wait(asio::use_awaitable));
    EXPECT_EQ(first.index(), 1u);  // the timer won; the read was cancelled
    EXPECT_TRUE(p.stream.socket().is_open());
    co_await asio::async_write(p.peer, asio::buffer("c", 1), kNoThrow);
    co_await p.expect_byte('c');
  });
}

// ---- TLS through the stream: UpstreamClient against an in-process TLS server.

// A self-signed P-256 certificate for 127.0.0.1 / localhost, valid until 2126 (test fixture only).
constexpr const char* kCert = R"(-----BEGIN CERTIFICATE-----
MIIBuzCCAWGgAwIBAgIUQzs3R1xQdihyHKzHtQko/ufIsMowCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZc3dpdGNoYm9hcmQgdGVzdCB1cHN0cmVhbTAgFw0yNjEyMDMw
NDAyNTRaGA8yMTI2MTEwOTA0MDI1NFowJDEiMCAGA1UEAwwZc3dpdGNoYm9hcmQg
dGVzdCB1cHN0cmVhbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCLmPjYreu6B
jdu+dQ22jpmOOLqhLok+QvrqQG/q54Dvv7a03w0Ey39kAg3k+lMpG2pUeMrBQIuk
eUAaZ/5bdR2jbzBtMB0GA1UdDgQWBBQ2s+VgXfowaeHBUM+36EwO8zyvRjAfBgNV
HSMEGDAWgBQ2s+VgXfowaeHBUM+36EwO8zyvRjAPBgNVHRMBAf8EBTADAQH/MBoG
A1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAKBggqhkjOPQQDAgNIADBFAiEAqvm5
hwlNLO2BwThV6kkTVGuXx0M5xafSFFaYw3CskmMCIAFB4KuTizUYzHDrZqa2X9Am
Rqd8jBPJClXxmj49YS46
-----END CERTIFICATE-----
)";
constexpr const char* kKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPRf36n2kZmEiEcBV
FW967Tg5I/yUILr+S6EOtRZI9huhRANCAAQi5j42K3rugY3bvnUNto6Zjji6oS6J
PkL66kBv6ueA77+2tN8NBMt/ZAIN5PpTKRtqVHjKwUCLpHlAGmf+W3Ud
-----END PRIVATE KEY-----
)";

// The TLS side of a test server: kCert and kKey.
asio::ssl::context test_server_tls() {
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain(asio::buffer(std::string_view(kCert)));
  tls.use_private_key(asio::buffer(std::string_view(kKey)), asio::ssl::context::pem);
  return tls;
}

TEST(DeadlineStream, CarriesTlsForTheUpstreamClient) {
  asio::io_context io;
  asio::ssl::context server_tls = test_server_tls();
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  // The server: one TLS connection, one request, answered with "tls|<body>".
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto [aec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (aec) co_return;
    asio::ssl::stream<tcp::socket> tls(std::move(socket), server_tls);
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, kNoThrow);
    if (hec) co_return;
    beast::flat_buffer buffer;
    beast::http::request<beast::http::string_body> req;
    auto [rec, rn] = co_await beast::http::async_read(tls, buffer, req, kNoThrow);
    if (rec) co_return;
    beast::http::response<beast::http::string_body> res{beast::http::status::ok, 11};
    res.set(beast::http::field::content_type, "text/plain");
    res.body() = "tls|" + req.body();
    res.prepare_payload();
    co_await beast::http::async_write(tls, res, kNoThrow);
  }, asio::detached);

  auto client_tls = make_client_tls_context();
  client_tls->add_certificate_authority(asio::buffer(std::string_view(kCert)));
  auto client = std::make_shared<UpstreamClient>(io, *client_tls, 4, std::chrono::seconds(60));
  auto url = config::parse_url("https://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(url.ok()) << url.error().message;
  std::string out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    UpstreamTarget target{&*url, "", 1};
    auto started = co_await client->start(target, make_upstream_request(beast::http::verb::post, "/v1/x", "hello"),
                                          Clock::now() + 5s);
    if (!started) {
      out = "error: " + started.error().message;
      co_return;
    }
    auto all = co_await (*started)->read_all(1 << 20, Clock::now() + 5s);
    out = all ? *all : "error: " + all.error().message;
  }, [&](std::exception_ptr) { io.stop(); });
  io.run();
  EXPECT_EQ(out, "tls|hello");
}


// A TLS record that came with the last one of an answer (in the same TCP read) is held by the TLS
// layer, where the pooled connection's socket peek cannot see it: the connection must not be
// reused, or the record would be read as the next call's answer.
TEST(DeadlineStream, ATlsRecordReadAheadWithAnAnswerKeepsItsConnectionOutOfThePool) {
  asio::io_context io;
  asio::ssl::context server_tls = test_server_tls();
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  int connections = 0;
  auto answer = [](std::string body) {
    beast::http::response<beast::http::string_body> res{beast::http::status::ok, 11};
    res.set(beast::http::field::content_type, "text/plain");
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  // The first connection answers its request, then (in a second record, corked into the same
  // TCP segment) an answer nobody asked for; any later connection answers "fresh".
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (;;) {
      auto [aec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (aec) co_return;
      const int n = connections++;
      asio::co_spawn(io, [&, n, s = std::move(socket)]() mutable -> asio::awaitable<void> {
        asio::ssl::stream<tcp::socket> tls(std::move(s), server_tls);
        auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, kNoThrow);
        if (hec) co_return;
        beast::flat_buffer buffer;
        for (;;) {
          beast::http::request<beast::http::string_body> req;
          auto [rec, rn] = co_await beast::http::async_read(tls, buffer, req, kNoThrow);
          if (rec) co_return;
          const int fd = tls.lowest_layer().native_handle();
          int on = 1, off = 0;
          ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
          co_await beast::http::async_write(tls, answer(n == 0 ? "first" : "fresh"), kNoThrow);
          if (n == 0) co_await beast::http::async_write(tls, answer("injected"), kNoThrow);
          ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        }
      }, asio::detached);
    }
  }, asio::detached);

  auto client_tls = make_client_tls_context();
  client_tls->add_certificate_authority(asio::buffer(std::string_view(kCert)));
  auto client = std::make_shared<UpstreamClient>(io, *client_tls, 4, std::chrono::seconds(60));
  auto url = config::parse_url("https://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(url.ok()) << url.error().message;
  std::vector<std::string> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    UpstreamTarget target{&*url, "", 1};
    for (int i = 0; i < 2; ++i) {
      auto started = co_await client->start(
          target, make_upstream_request(beast::http::verb::post, "/v1/x", "hello"),
          Clock::now() + 5s);
      if (!started) {
        out.push_back("error: " + started.error().message);
        continue;
      }
      auto all = co_await (*started)->read_all(1 << 20, Clock::now() + 5s);
      out.push_back(all ? *all : "error: " + all.error().message);
      started->reset();  // back to the pool, if it may go
      asio::steady_timer pause(io, 50ms);  // the read-ahead record is surely in by then
      co_await pause.async_wait(asio::use_awaitable);
    }
  }, [&](std::exception_ptr) { io.stop(); });
  io.run();
  EXPECT_EQ(out, (std::vector<std::string>{"first", "fresh"}));
  EXPECT_EQ(connections, 2);
}

}  // namespace
}  // namespace switchboard::http
