// The chat-completions front end's ResponseWriter over one HTTP exchange: OpenAI-shaped errors
// (`{"error":{...}}`) and stream error events (`data: {"error":...}` then `data: [DONE]`).
#pragma once

#include "http/server.h"
#include "switchboard/response_writer.h"

namespace switchboard::pipeline {

class ExchangeWriter final : public ResponseWriter {
 public:
  explicit ExchangeWriter(http::Exchange& ex) : ex_(ex) {}
  boost::asio::awaitable<bool> respond(unsigned status, std::string_view content_type,
                                       Headers headers, std::string body) override;
  boost::asio::awaitable<bool> error(const Error& error, Headers headers) override;
  boost::asio::awaitable<bool> start_stream(Headers headers) override;
  boost::asio::awaitable<bool> write_chunk(std::string_view data) override;
  boost::asio::awaitable<bool> stream_error(const Error& error) override;
  boost::asio::awaitable<bool> finish_stream() override;

 private:
  http::Exchange& ex_;
};

}  // namespace switchboard::pipeline
