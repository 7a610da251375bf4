// A ResponseWriter that forwards everything to the client unchanged and keeps a copy of a
// successful answer (a 200 body, or a stream's chunks) of at most `max_bytes`, for stages that act
// on the answer after it was sent: the cache stores it, the session stage hashes the conversation.
//
// Contract: answer() is the answer as cache::answer_from_body / answer_from_sse parse it; nullopt
// when the request failed (an error, a broken stream), nothing was captured or the answer was
// longer than max_bytes (then nothing more is copied: memory stays bounded).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cache/answer.h"
#include "switchboard/response_writer.h"

namespace switchboard::pipeline {

class AnswerTap final : public ResponseWriter {
 public:
  AnswerTap(ResponseWriter* client, std::size_t max_bytes)
      : client_(client), max_bytes_(max_bytes) {}
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

  std::optional<cache::Answer> answer() const {
    if (broken_ || overflow_ || captured_.empty()) return std::nullopt;
    return streamed_ ? cache::answer_from_sse(captured_) : cache::answer_from_body(captured_);
  }

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
  std::string captured_;
  bool streamed_ = false, broken_ = false, overflow_ = false;
};

}  // namespace switchboard::pipeline
