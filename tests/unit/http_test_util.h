// Helpers for unit tests that run an http::Server in-process: the server on its own threads, and a
// small blocking HTTP/1.1 client over a plain socket.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "http/server.h"

namespace switchboard::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Runs `server` on a background thread until the object is destroyed.
class RunningServer {
 public:
  explicit RunningServer(std::unique_ptr<http::Server> server) : server_(std::move(server)) {
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() { stop(); }
  // Stops the event loops and joins the thread; the server (and its io_contexts) stay alive until
  // the object is destroyed.
  void stop() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
  }
  http::Server& operator*() { return *server_; }
  http::Server* operator->() { return server_.get(); }
  uint16_t port() const { return server_->port(); }

 private:
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

struct ClientResponse {
  unsigned status = 0;
  std::string body;
  std::string retry_after;
  std::string decision;  // x-switchboard-decision
  std::string error;     // set when no response could be read (connection closed, timeout)
  bool keep_alive = false;
  std::string keep_alive_hint;  // the Keep-Alive field ("timeout=N")
  std::string connection;       // the Connection field
  bool chunked = false;         // Transfer-Encoding: chunked
};

// A blocking client connection to 127.0.0.1:port with a read timeout.
class Client {
 public:
  explicit Client(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  tcp::socket& socket() { return socket_; }

  // Sends a request (body with Content-Length when given) and reads one response.
  ClientResponse request(bhttp::verb method, std::string target,
                         std::optional<std::string> body = std::nullopt) {
    send(method, std::move(target), std::move(body));
    return read();
  }
  void send(bhttp::verb method, std::string target,
            std::optional<std::string> body = std::nullopt) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (body) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = std::move(*body);
      req.prepare_payload();
    }
    beast::error_code ec;
    bhttp::write(socket_, req, ec);
  }
  void send_raw(std::string_view bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }
  ClientResponse read() {
    ClientResponse out;
    bhttp::response<bhttp::string_body> res;
    beast::error_code ec;
    bhttp::read(socket_, buffer_, res, ec);
    if (ec) {
      out.error = ec.message();
      return out;
    }
    out.status = res.result_int();
    out.body = res.body();
    out.retry_after = std::string(res[bhttp::field::retry_after]);
    out.decision = std::string(res["x-switchboard-decision"]);
    out.keep_alive = res.keep_alive();
    out.keep_alive_hint = std::string(res[bhttp::field::keep_alive]);
    out.connection = std::string(res[bhttp::field::connection]);
    out.chunked = res.chunked();
    return out;
  }
  // True when the server closed the connection (a read sees EOF or a reset) within the timeout.
  bool closed_by_peer() {
    char c;
    beast::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// Polls `cond` until it holds or `timeout` passes; returns its last value.
template <typename F>
bool eventually(F&& cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace switchboard::testing
