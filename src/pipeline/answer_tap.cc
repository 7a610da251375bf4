#include "pipeline/answer_tap.h"

#include "pipeline/native/native_api.h"
#include "pipeline/request_context.h"

namespace switchboard::pipeline {

std::optional<cache::Answer> AnswerTap::answer() const {
  if (broken_ || overflow_ || captured_.empty()) return std::nullopt;
  if (!native_)
    return streamed_ ? cache::answer_from_sse(captured_) : cache::answer_from_body(captured_);
  auto text = native_->answer(captured_, streamed_);
  if (!text) return std::nullopt;
  cache::Answer a;
  a.content = std::move(text->content);
  a.finish_reason = std::move(text->finish_reason);
  a.matched_stop = std::move(text->matched_stop);
  a.model = std::move(text->model);
  a.prompt_tokens = text->prompt_tokens;
  a.completion_tokens = text->completion_tokens;
  a.tool_calls = std::move(text->tool_calls);
  a.reasoning = std::move(text->reasoning);
  a.reasoning_signature = std::move(text->reasoning_signature);
  return a;
}

std::shared_ptr<AnswerTaps> AnswerTaps::install(RequestContext& ctx, std::size_t max_bytes) {
  auto taps = std::make_shared<AnswerTaps>();
  if (ctx.client) {
    taps->client_ = std::make_unique<AnswerTap>(ctx.client, max_bytes);
    ctx.client = taps->client_.get();
  }
  if (ctx.native_client) {
    if (const NativeApi* api = find_native_api(std::string(ctx.native_api))) {
      taps->native_ = std::make_unique<AnswerTap>(ctx.native_client, max_bytes, api);
      ctx.native_client = taps->native_.get();
    }
  }
  return taps;
}

std::optional<cache::Answer> AnswerTaps::answer() const {
  if (client_)
    if (auto a = client_->answer()) return a;
  if (native_) return native_->answer();
  return std::nullopt;
}

void AnswerTaps::remove(RequestContext& ctx) const {
  if (client_) ctx.client = nullptr;
  if (native_) ctx.native_client = nullptr;
}

}  // namespace switchboard::pipeline
