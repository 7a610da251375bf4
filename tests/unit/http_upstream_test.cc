// The upstream client against an in-process upstream (an http::Server): the Host header with a
// non-default port, IPv6 replicas, the body written from a view, reuse of pooled connections,
// expiry of idle ones, and the retry of a request on a pooled connection the upstream had closed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/upstream.h"
#include "http_test_util.h"

namespace switchboard::http {
namespace {

using testing::eventually;
using testing::RunningServer;

// Answers every request with "<Host header>|<body>".
asio::awaitable<void> echo(Exchange& ex) {
  Response r{bhttp::status::ok, 11};
  r.set(bhttp::field::content_type, "text/plain");
  r.body() = std::string(ex.request()[bhttp::field::host]) + "|" + ex.request().body();
  co_await ex.respond(std::move(r));
}

RunningServer upstream(const std::string& host = "127.0.0.1",
                       std::chrono::milliseconds idle_timeout = std::chrono::seconds(60)) {
  ServerOptions o;
  o.host = host;
  o.port = 0;
  o.threads = 1;
  o.idle_timeout = idle_timeout;
  auto s = Server::create(o, echo);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return RunningServer(std::move(*s));
}

struct ClientFixture {
  asio::io_context io;
  std::unique_ptr<asio::ssl::context> tls = make_client_tls_context();
  std::shared_ptr<UpstreamClient> client;
  explicit ClientFixture(std::chrono::milliseconds idle_timeout)
      : client(std::make_shared<UpstreamClient>(io, *tls, 16, idle_timeout)) {}

  // One POST with `body`; the response body, or "error: <code>: <message>".
  std::string post(const config::Url& url, std::string_view body,
                   std::pair<std::string_view, std::string_view> header = {},
                   std::chrono::milliseconds connect_timeout = {}) {
    std::string out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          UpstreamTarget target{&url, "", 7, connect_timeout};
          auto req = make_upstream_request(bhttp::verb::post, "/v1/echo", body);
          if (!header.first.empty()) req.set(header.first, header.second);
          auto started = co_await client->start(target, std::move(req),
                                                Clock::now() + std::chrono::seconds(5));
          if (!started) {
            out = "error: " + started.error().code + ": " + started.error().message;
            co_return;
          }
          auto all = co_await (*started)->read_all(1 << 20, Clock::now() + std::chrono::seconds(5));
          out = all ? *all : "error: " + all.error().message;
        },
        [&](std::exception_ptr) { io.stop(); });  // the pool's sweep timer may still be pending
    io.restart();
    io.run();
    return out;
  }
  // Runs the client's io_context for `d` (its sweep timer included).
  void idle(std::chrono::milliseconds d) {
    asio::steady_timer t(io, d);
    t.async_wait([&](auto) { io.stop(); });
    io.restart();
    io.run();
  }
};

config::Url url_of(const std::string& text) {
  auto u = config::parse_url(text);
  EXPECT_TRUE(u.ok()) << u.error().message;
  return *u;
}

TEST(UpstreamClient, SendsHostWithTheNonDefaultPortAndTheBodyFromAView) {
  auto up = upstream();
  ClientFixture f(std::chrono::seconds(30));
  const auto url = url_of("http://127.0.0.1:" + std::to_string(up.port()));
  const std::string body = R"({"model":"m","messages":[]})";
  EXPECT_EQ(f.post(url, body), "127.0.0.1:" + std::to_string(up.port()) + "|" + body);
  static_assert(std::is_same_v<decltype(UpstreamRequest::body), std::string_view>,
                "the upstream request body is a view, never a copy");
}

TEST(UpstreamClient, AHeaderThatWouldSplitTheRequestIsRefusedBeforeAnythingIsSent) {
  auto up = upstream();
  ClientFixture f(std::chrono::seconds(30));
  const auto url = url_of("http://127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(f.post(url, "a", {"anthropic-version", "1\r\nX-Injected: 1"}),
            "error: upstream_bad_request: the upstream request has a malformed target or header");
  EXPECT_EQ(f.post(url, "a", {"bad name", "1"}),
            "error: upstream_bad_request: the upstream request has a malformed target or header");
  EXPECT_EQ(up->connections(), 0);  // nothing was sent: not even a connection
  EXPECT_EQ(f.post(url, "b", {"anthropic-version", "2023-06-01"}).back(), 'b');
}

TEST(UpstreamClient, ConnectsToAnIpv6Replica) {
  auto up = upstream("::1");
  ClientFixture f(std::chrono::seconds(30));
  const auto url = url_of("http://[::1]:" + std::to_string(up.port()) + "/v1");
  EXPECT_EQ(f.post(url, "x"), "[::1]:" + std::to_string(up.port()) + "|x");
}

TEST(UpstreamClient, ReusesAPooledConnectionAndClosesItAfterTheIdleTimeout) {
  auto up = upstream();
  ClientFixture f(std::chrono::milliseconds(200));
  const auto url = url_of("http://127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(f.post(url, "a").substr(0, 1), "1");  // "127.0.0.1:…|a"
  EXPECT_EQ(f.post(url, "b").back(), 'b');
  EXPECT_EQ(f.client->idle_connections(), 1u);
  EXPECT_EQ(up->connections(), 1);  // one connection served both

  // Idle past the timeout: the client closes it (the upstream sees it go) and does not reuse it.
  f.idle(std::chrono::milliseconds(600));
  EXPECT_EQ(f.client->idle_connections(), 0u);
  EXPECT_TRUE(eventually([&] { return up->connections() == 0; })) << up->connections();
  EXPECT_EQ(f.post(url, "c").back(), 'c');
  EXPECT_EQ(up->connections(), 1);
}

TEST(UpstreamClient, AnExpiredConnectionIsNotReusedEvenBeforeTheSweep) {
  auto up = upstream();
  ClientFixture f(std::chrono::milliseconds(100));
  const auto url = url_of("http://127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(f.post(url, "a").back(), 'a');
  std::this_thread::sleep_for(
      std::chrono::milliseconds(300));  // the client's loop does not run: no sweep
  EXPECT_EQ(f.client->idle_connections(), 1u);
  EXPECT_EQ(f.post(url, "b").back(), 'b');
  EXPECT_TRUE(eventually([&] { return up->connections() == 1; }))
      << up->connections();  // the old one closed
}

TEST(UpstreamClient, ARequestOnAConnectionTheUpstreamClosedIsRetriedOnAFreshOne) {
  // The upstream closes keep-alive connections idle for 100 ms; the client keeps them for 30 s.
  auto up = upstream("127.0.0.1", std::chrono::milliseconds(100));
  ClientFixture f(std::chrono::seconds(30));
  const auto url = url_of("http://127.0.0.1:" + std::to_string(up.port()));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f.post(url, "a" + std::to_string(i)).back(), '0' + i);
    ASSERT_TRUE(eventually([&] { return up->connections() == 0; }));  // the upstream closed it
    EXPECT_EQ(f.client->idle_connections(), 1u);                      // still pooled (stale)
    auto r = f.post(url, "b" + std::to_string(i));
    EXPECT_EQ(r.back(), '0' + i) << r;
  }
}

// A listener whose accept queue is full and never drained: the kernel drops further SYNs, so a
// connect to it hangs (as to a replica behind a firewall that drops packets).
struct BlackholeListener {
  int fd = -1;
  std::vector<int> fillers;
  int port = 0;
  BlackholeListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 0), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port = ntohs(a.sin_port);
    for (int i = 0; i < 4; ++i) {  // more than the queue holds: the later ones hang too
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers.push_back(c);
    }
  }
  ~BlackholeListener() {
    for (int c : fillers) ::close(c);
    ::close(fd);
  }
};

TEST(UpstreamClient, AConnectionNotUpWithinTheConnectTimeoutFailsAsUnreachableBeforeTheDeadline) {
  BlackholeListener hole;
  ClientFixture f(std::chrono::seconds(30));
  const auto url = url_of("http://127.0.0.1:" + std::to_string(hole.port));
  const auto start = std::chrono::steady_clock::now();
  const auto r = f.post(url, "x", {}, std::chrono::milliseconds(200));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r, "error: upstream_unreachable: connecting to 127.0.0.1:" + std::to_string(hole.port) +
                   ": no connection within 200 ms");
  // Not the request's 5 s deadline (a bound, not a timing claim: the kernel retries a SYN at 1 s).
  EXPECT_LT(waited, std::chrono::milliseconds(4500));
}

}  // namespace
}  // namespace switchboard::http
