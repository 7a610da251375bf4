// A ResponseWriter that forwards everything to the client unchanged and keeps a copy of a
// successful answer (a 200 body, or a stream's chunks) of at most `max_bytes`, for stages that act
// on the answer after it was sent: the cache stores it, the session stage hashes the conversation.
//
// Contract: answer() is the answer as cache::answer_from_body / answer_from_sse parse it — or, for
// a tap on a native client (RequestContext::native_client), as that API reads its own shape
// (NativeApi::answer); nullopt when the request failed (an error, a broken stream), nothing was
// captured or the answer was longer than max_bytes (then nothing more is copied: memory stays
// bounded).
//
// AnswerTaps wraps both writers an answer can reach the client through: the chat-shaped one
// (translated for clients of other APIs) and, for a client of a native API, the one a replica of
// that API answers through unchanged. Exactly one of them sees a request's answer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/answer.h"
#include "switchboard/response_writer.h"

namespace switchboard::pipeline {

class NativeApi;        // pipeline/native/native_api.h
struct RequestContext;  // pipeline/request_context.h

class AnswerTap final : public ResponseWriter {
 public:
  // `native` null: the client writer speaks chat completions.
  AnswerTap(ResponseWriter* client, std::size_t max_bytes, const NativeApi* native = nullptr)
      : client_(client), max_bytes_(max_bytes), native_(native) {}
  boost::asio::awaitable<bool> respond(unsigned status, std::string_view content_type,
                                       Headers headers, std::string body) override {
    if (status == 200) keep(body);
    return client_->respond(status, content_type, headers, std::move(body));
  }
  boost::asio::awaitable<bool> error(const Error& e, Headers headers) override {
    broken_ = true;
    return client_->error(e, headers);
  }
  boost::asio::awaitable<bool> start_stream(Headers headers) override {
    streamed_ = true;
    return client_->start_stream(headers);
  }
  boost::asio::awaitable<bool> write_chunk(std::string_view data) override {
    keep(data);
    return client_->write_chunk(data);
  }
  boost::asio::awaitable<bool> stream_error(const Error& e) override {
    broken_ = true;
    return client_->stream_error(e);
  }
  boost::asio::awaitable<bool> finish_stream() override { return client_->finish_stream(); }
  const Error* refused_answer() const override { return client_->refused_answer(); }
  const Error* stream_failure() const override { return client_->stream_failure(); }
  std::string answer_problem(std::string_view whole) const override {
    return client_->answer_problem(whole);
  }

  std::optional<cache::Answer> answer() const;

 private:
  void keep(std::string_view data) {
    if (overflow_ || captured_.size() + data.size() > max_bytes_) {
      overflow_ = true;
      return;
    }
    captured_.append(data);
  }
  ResponseWriter* client_;
  std::size_t max_bytes_;
  const NativeApi* native_;
  std::string captured_;
  bool streamed_ = false, broken_ = false, overflow_ = false;
};

class AnswerTaps {
 public:
  // Wraps ctx.client (when set) and ctx.native_client (when set) with taps of `max_bytes` each.
  static std::shared_ptr<AnswerTaps> install(RequestContext& ctx, std::size_t max_bytes);
  std::optional<cache::Answer> answer() const;
  // Takes the taps out of `ctx` (they die with their owner; nothing writes after the answer).
  void remove(RequestContext& ctx) const;

 private:
  std::unique_ptr<AnswerTap> client_, native_;
};

}  // namespace switchboard::pipeline
