// The chat-completions front end's ResponseWriter over one HTTP exchange: OpenAI-shaped errors
// (`{"error":{...}}`) and stream error events (`data: {"error":...}` then `data: [DONE]`).
// With wrap_upstream_errors() (the front ends without a translation: chat, embeddings), a non-200
// body that is not an OpenAI error object (an HTML page, vLLM's or FastAPI's body) is written as
// one (api::openai_upstream_error_body): OpenAI's SDKs could not read it. Off, bodies pass as
// given (the inner writer of a translation, or of a native pass-through in another API).
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
  void wrap_upstream_errors() { wrap_errors_ = true; }

 private:
  http::Exchange& ex_;
  bool wrap_errors_ = false;
};

}  // namespace switchboard::pipeline
