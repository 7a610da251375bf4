// pipeline::TranslatingWriter: what the executor writes in chat-completions shape reaches the
// client in the front end's API shape — whole answers, upstream errors, gateway errors, a stream
// arriving in arbitrary pieces, a broken stream, a whole cached stream.
#include "pipeline/translating_writer.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "api/messages.h"
#include "api/responses.h"
#include "api_translate_util.h"

namespace switchboard::pipeline {
namespace {

namespace asio = boost::asio;
using api::testing::json;
using api::testing::names;
using api::testing::parse_events;

class FakeClient final : public ResponseWriter {
 public:
  unsigned status = 0;
  std::string content_type, body, streamed;
  bool started = false, finished = false;
  asio::awaitable<bool> respond(unsigned s, std::string_view ct, Headers, std::string b) override {
    status = s;
    content_type = ct;
    body = std::move(b);
    co_return true;
  }
  asio::awaitable<bool> error(const Error&, Headers) override {
    ADD_FAILURE() << "the translating writer answers errors with respond()";
    co_return true;
  }
  asio::awaitable<bool> start_stream(Headers) override {
    started = true;
    co_return true;
  }
  asio::awaitable<bool> write_chunk(std::string_view d) override {
    streamed += d;
    co_return true;
  }
  asio::awaitable<bool> stream_error(const Error&) override {
    ADD_FAILURE() << "stream errors are written as the API's events";
    co_return true;
  }
  asio::awaitable<bool> finish_stream() override {
    finished = true;
    co_return true;
  }
};

template <typename F>
void run(F f) {
  asio::io_context io;
  asio::co_spawn(io, f(), asio::detached);
  io.run();
}

std::string sse(const std::vector<std::string>& datas) {
  std::string out;
  for (const auto& d : datas) out += "data: " + d + "\n\n";
  return out;
}

TEST(TranslatingWriter, WholeAnswerAndErrorsInTheApisShape) {
  FakeClient client;
  auto t = api::messages_translator(nullptr);
  TranslatingWriter w(client, *t);
  run([&]() -> asio::awaitable<void> {
    std::string body = api::testing::chat_completion("Hi");
    co_await w.respond(200, "application/json", {}, std::move(body));
  });
  EXPECT_EQ(client.status, 200u);
  EXPECT_EQ(json::parse(client.body)["content"][0]["text"], "Hi");

  run([&]() -> asio::awaitable<void> {
    const Error e = make_error(ErrorKind::kNotFound, "model_not_found", "no model 'x'");
    co_await w.error(e, {});
  });
  EXPECT_EQ(client.status, 404u);
  EXPECT_EQ(json::parse(client.body),
            json::parse(
                R"({"type":"error","error":{"type":"not_found_error","message":"no model 'x'"}})"));

  run([&]() -> asio::awaitable<void> {
    std::string body = R"({"error":{"message":"busy"}})";
    co_await w.respond(503, "application/json", {}, std::move(body));
  });
  EXPECT_EQ(client.status, 503u);
  EXPECT_EQ(json::parse(client.body)["error"]["type"], "overloaded_error");

  run([&]() -> asio::awaitable<void> {
    std::string body = "not json";
    co_await w.respond(200, "application/json", {}, std::move(body));
  });
  EXPECT_EQ(client.status, 502u);
  EXPECT_EQ(json::parse(client.body)["type"], "error");
}

TEST(TranslatingWriter, StreamInArbitraryPiecesGivesTheWholeEventSequence) {
  const std::string bytes = sse(api::testing::text_stream());
  for (std::size_t piece : {1u, 3u, 17u, 1000u}) {
    FakeClient client;
    auto t = api::responses_translator(nullptr);
    TranslatingWriter w(client, *t);
    run([&]() -> asio::awaitable<void> {
      co_await w.start_stream({});
      for (std::size_t i = 0; i < bytes.size(); i += piece) {
        const std::string_view part = std::string_view(bytes).substr(i, piece);
        co_await w.write_chunk(part);
      }
      co_await w.finish_stream();
    });
    EXPECT_TRUE(client.started && client.finished);
    auto events = parse_events(client.streamed);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().name, "response.created") << piece;
    EXPECT_EQ(events.back().name, "response.completed") << piece;
    EXPECT_EQ(events.size(), 10u) << piece;
  }
}

TEST(TranslatingWriter, BrokenStreamEndsWithTheApisErrorEvent) {
  FakeClient client;
  auto t = api::messages_translator(nullptr);
  TranslatingWriter w(client, *t);
  run([&]() -> asio::awaitable<void> {
    co_await w.start_stream({});
    const std::string event = "data: " + api::testing::chunk({{"content", "par"}}) + "\n\n";
    co_await w.write_chunk(event);
    const Error e = make_error(ErrorKind::kUpstreamError, "upstream_stream_broken", "cut");
    co_await w.stream_error(e);
    co_await w.finish_stream();
  });
  auto events = parse_events(client.streamed);
  EXPECT_EQ(names(events), (std::vector<std::string>{"message_start", "content_block_start",
                                                     "content_block_delta", "error"}));
  EXPECT_TRUE(client.finished);
}

TEST(TranslatingWriter, AWholeCachedStreamIsTranslatedAtOnce) {
  FakeClient client;
  auto t = api::messages_translator(nullptr);
  TranslatingWriter w(client, *t);
  run([&]() -> asio::awaitable<void> {
    std::string body = sse(api::testing::text_stream());
    co_await w.respond(200, "text/event-stream", {}, std::move(body));
  });
  EXPECT_EQ(client.content_type, "text/event-stream");
  auto events = parse_events(client.body);
  EXPECT_EQ(events.front().name, "message_start");
  EXPECT_EQ(events.back().name, "message_stop");
}

}  // namespace
}  // namespace switchboard::pipeline
