// The HTTP server's bounds and safety nets, in-process: handler exceptions of any type, the
// connection bound, the request-body budget (refused through the handler, as a read error), and
// the default connection bound.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <stdexcept>

#include "http/server.h"
#include "http_test_util.h"

namespace switchboard::http {
namespace {

using testing::Client;
using testing::eventually;
using testing::RunningServer;

asio::awaitable<void> handle(Exchange& ex) {
  std::string_view target = ex.request().target();
  if (target == "/throw-std") throw std::runtime_error("boom");
  if (target == "/throw-int") throw 42;
  if (ex.read_error()) {  // answered as the gateway does: its status, its code
    Response r{static_cast<bhttp::status>(http_status(ex.read_error()->kind)), 11};
    r.body() = "{\"code\":\"" + ex.read_error()->code + "\",\"body\":" +
               std::to_string(ex.request().body().size()) + "}";
    co_await ex.respond(std::move(r));
    co_return;
  }
  if (target == "/slow") {  // answers after 300 ms (a drain can begin meanwhile)
    asio::steady_timer t(ex.executor(), std::chrono::milliseconds(300));
    co_await t.async_wait(asio::use_awaitable);
    co_await ex.respond(200, "text/plain", {}, "slow");
    co_return;
  }
  if (target == "/plain") {  // the Beast-free path
    co_await ex.respond(200, "text/plain", {}, "plain");
    co_return;
  }
  if (target == "/stream") {
    ResponseHead head{bhttp::status::ok, 11};
    if (co_await ex.start_stream(std::move(head)) && co_await ex.write_chunk("chunk"))
      co_await ex.finish_stream();
    co_return;
  }
  Response r{bhttp::status::ok, 11};
  r.body() = std::to_string(ex.request().body().size());
  co_await ex.respond(std::move(r));
}

RunningServer start(ServerOptions options) {
  options.port = 0;
  options.threads = 2;
  auto server = Server::create(options, handle);
  EXPECT_TRUE(server.ok()) << server.error().message;
  return RunningServer(std::move(*server));
}

TEST(HttpServer, AnExceptionOfAnyTypeFromAHandlerIsAnswered500AndReleasesTheRequest) {
  auto server = start({});
  for (const char* target : {"/throw-std", "/throw-int"}) {
    Client c(server.port());
    auto r = c.request(bhttp::verb::get, target);
    EXPECT_EQ(r.status, 500u) << target << ": " << r.error;
    EXPECT_NE(r.body.find("\"internal\""), std::string::npos) << r.body;
    EXPECT_FALSE(r.keep_alive);
    EXPECT_TRUE(c.closed_by_peer()) << target;
    EXPECT_TRUE(eventually([&] { return server->in_flight() == 0; }))
        << target << ": in flight " << server->in_flight();
  }
  Client c(server.port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/ok").status, 200u);
}

TEST(HttpServer, KeptAliveResponsesTellTheIdleTimeoutAndClosingOnesDoNot) {
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(7'900);  // told in whole seconds, rounded down
  auto server = start(o);
  Client c(server.port());
  for (const char* target : {"/ok", "/plain", "/stream"}) {
    auto r = c.request(bhttp::verb::get, target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.error;
    EXPECT_TRUE(r.keep_alive) << target;
    EXPECT_EQ(r.connection, "") << target;  // HTTP/1.1 keeps alive unless told otherwise
    EXPECT_EQ(r.chunked, std::string_view(target) == "/stream") << target;
    EXPECT_EQ(r.keep_alive_hint, "timeout=7") << target;
  }
  // An HTTP/1.0 client that asks to keep the connection is told it is kept (it closes otherwise).
  Client old(server.port());
  for (const char* target : {"/ok", "/plain"}) {
    old.send_raw(std::string("GET ") + target + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = old.read();
    EXPECT_EQ(r.status, 200u) << target << ": " << r.error;
    EXPECT_EQ(r.connection, "keep-alive") << target;
    EXPECT_EQ(r.keep_alive_hint, "timeout=7") << target;
  }
  // A stream to an HTTP/1.0 client: not chunked (it has no such coding), ended by the close.
  Client old_stream(server.port());
  old_stream.send_raw("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto s = old_stream.read();
  EXPECT_EQ(s.status, 200u) << s.error;
  EXPECT_EQ(s.body, "chunk");
  EXPECT_FALSE(s.chunked);
  EXPECT_EQ(s.connection, "close");
  EXPECT_TRUE(old_stream.closed_by_peer());
  Client closing(server.port());
  closing.send_raw("GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto r = closing.read();
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.keep_alive_hint, "");

  o.idle_timeout = std::chrono::milliseconds(500);  // under a second: no hint (0 would mean none)
  auto quick = start(o);
  Client q(quick.port());
  auto qr = q.request(bhttp::verb::get, "/plain");
  EXPECT_TRUE(qr.keep_alive);
  EXPECT_EQ(qr.keep_alive_hint, "");
}

// A request already in the handler when the drain begins: its answer says the connection closes
// (it does), with no keep-alive hint.
TEST(HttpServer, AnAnswerWrittenWhileDrainingSaysTheConnectionCloses) {
  auto server = start({});
  Client c(server.port());
  c.send(bhttp::verb::get, "/slow");
  ASSERT_TRUE(eventually([&] { return server->in_flight() == 1; }));
  server->begin_shutdown();
  auto r = c.read();
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_EQ(r.body, "slow");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.keep_alive_hint, "");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(HttpServer, ConnectionsOverTheBoundAreAnswered503OverloadedAndClosed) {
  ServerOptions o;
  o.max_connections = 2;
  std::atomic<int> refused{0};
  o.on_refused = [&refused](std::string_view code) {
    if (code == "overloaded") ++refused;
  };
  auto server = start(o);
  auto a = std::make_unique<Client>(server.port());
  Client b(server.port());
  ASSERT_EQ(a->request(bhttp::verb::get, "/ok").status, 200u);
  ASSERT_EQ(b.request(bhttp::verb::get, "/ok").status, 200u);
  EXPECT_EQ(server->connections(), 2);

  Client over(server.port());
  auto r = over.request(bhttp::verb::get, "/ok");
  EXPECT_EQ(r.status, 503u) << r.error;
  EXPECT_EQ(r.retry_after, "1");
  EXPECT_NE(r.body.find("\"code\":\"overloaded\""), std::string::npos) << r.body;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(over.closed_by_peer());
  EXPECT_EQ(server->connections(), 2);  // the rejected one never counted
  EXPECT_EQ(refused.load(), 1);          // but reported

  // A slot frees when a client leaves.
  a.reset();
  ASSERT_TRUE(eventually([&] { return server->connections() == 1; }));
  Client c(server.port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/ok").status, 200u);
}

TEST(HttpServer, RequestBodiesOverTheBudgetAreAnswered503Overloaded) {
  ServerOptions o;
  o.max_body_budget_bytes = 1000;
  auto server = start(o);

  // One request announces 900 bytes and sends 10: only what arrived is held (since session 28;
  // before, the whole declared length: idle clients declaring large bodies starved the others).
  Client held(server.port());
  held.send_raw("POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n" +
                std::string(10, 'a'));
  ASSERT_TRUE(eventually([&] { return server->body_bytes_held() == 10; }))
      << server->body_bytes_held();
  held.send_raw(std::string(790, 'a'));  // now 800 of its 900
  ASSERT_TRUE(eventually([&] { return server->body_bytes_held() == 800; }))
      << server->body_bytes_held();

  Client over(server.port());
  auto r = over.request(bhttp::verb::post, "/ok", std::string(300, 'b'));
  // The handler answers (the gateway records it, in the API's shape), without the body.
  EXPECT_EQ(r.status, 503u) << r.error;
  EXPECT_EQ(r.body, R"({"code":"overloaded","body":0})");

  Client fits(server.port());
  auto ok = fits.request(bhttp::verb::post, "/ok", std::string(150, 'c'));
  EXPECT_EQ(ok.status, 200u) << ok.error;
  EXPECT_EQ(ok.body, "150");
  // (That request is released just after its answer was written.)
  ASSERT_TRUE(
      eventually([&] { return server->body_bytes_held() == 800 && server->in_flight() == 1; }));

  // A chunked body is counted as it grows.
  Client chunked(server.port());
  chunked.send_raw("POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 4; ++i)
    chunked.send_raw("64\r\n" + std::string(100, 'd') + "\r\n");  // 400 bytes
  auto cr = chunked.read();
  EXPECT_EQ(cr.status, 503u) << cr.error;
  EXPECT_EQ(cr.body, R"({"code":"overloaded","body":0})");
  // The body's bytes were given back before the handler ran, the request once answered, though
  // the connection still lingers (reading what the client sends, for up to 2 s).
  EXPECT_EQ(server->body_bytes_held(), 800u);
  ASSERT_TRUE(eventually([&] { return server->in_flight() == 1; }));  // the held request only

  // The held request completes; its bytes are released with it.
  held.send_raw(std::string(100, 'a'));
  auto hr = held.read();
  EXPECT_EQ(hr.status, 200u) << hr.error;
  EXPECT_EQ(hr.body, "900");
  ASSERT_TRUE(eventually([&] { return server->body_bytes_held() == 0; }))
      << server->body_bytes_held();
  Client again(server.port());
  EXPECT_EQ(again.request(bhttp::verb::post, "/ok", std::string(300, 'b')).status, 200u);

  // A chunked body within the budget reaches the handler whole.
  Client small(server.port());
  small.send_raw(
      "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  auto sr = small.read();
  EXPECT_EQ(sr.status, 200u) << sr.error;
  EXPECT_EQ(sr.body, "5");
  ASSERT_TRUE(eventually([&] { return server->body_bytes_held() == 0; }));
}

TEST(HttpServer, TheDefaultConnectionBoundLeavesDescriptorsForUpstreamsAndFiles) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  auto with_limit = [&](rlim_t soft) {
    rlimit rl = saved;
    rl.rlim_cur = std::min<rlim_t>(soft, saved.rlim_max);
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
    return default_max_connections();
  };
  if (saved.rlim_max >= 20000) {
    EXPECT_EQ(with_limit(20000), 20000u - 4096u);
    EXPECT_EQ(with_limit(8192), 8192u - 2048u);
  }
  EXPECT_EQ(with_limit(1024), 1024u - 256u);
  EXPECT_EQ(with_limit(64), 32u);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  const auto n = default_max_connections();
  EXPECT_GE(n, 16u);
  EXPECT_LT(n, saved.rlim_cur == RLIM_INFINITY ? (1u << 20) : saved.rlim_cur);
}

}  // namespace
}  // namespace switchboard::http
