#include "pipeline/native/translated_api.h"

#include "api/chat_request.h"
#include "api/sse.h"
#include "pipeline/model_call.h"

namespace switchboard::pipeline {
namespace {

constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

// The replica's answer read as chat completions: a whole body translated at once, an event
// stream event by event (bounded like the relay's parser, on the upstream's bytes), an error body
// in OpenAI's shape.
class ChatFromUpstream final : public UpstreamResponse {
 public:
  ChatFromUpstream(std::unique_ptr<UpstreamResponse> inner,
                   std::unique_ptr<api::UpstreamToChat> reader, const config::ModelConfig& model)
      : inner_(std::move(inner)),
        reader_(std::move(reader)),
        streamed_(inner_->status() == 200 &&
                  inner_->content_type().starts_with("text/event-stream")),
        content_type_(streamed_ ? "text/event-stream" : "application/json"),
        max_bytes_(model.max_stream_bytes),
        parser_(
            [this](std::string_view data) {
              std::string chat = reader_->event(data);
              if (chat.empty()) silent_event_ = true;
              out_ += chat;
            },
            model.max_stream_line_bytes, model.max_stream_event_bytes) {}

  unsigned status() const override { return inner_->status(); }
  const std::string& content_type() const override { return content_type_; }
  std::string_view retry_after() const override { return inner_->retry_after(); }
  // The client left: the replica's read stops (before, a translated stream kept reading).
  void cancel() override { inner_->cancel(); }
  std::optional<double> billed_usd() const override { return inner_->billed_usd(); }
  std::optional<double> recorded_latency_ms() const override {
    return inner_->recorded_latency_ms();
  }

  asio::awaitable<Result<std::string_view>> read_some(Clock::time_point deadline) override {
    if (!streamed_) {  // a whole body, translated, in one piece
      if (whole_done_) co_return std::string_view();
      auto all = co_await read_all(kMaxBody, deadline);
      if (!all) co_return all.error();
      out_ = std::move(*all);
      whole_done_ = true;
      co_return std::string_view(out_);
    }
    co_return co_await next(deadline, true);
  }

  asio::awaitable<Result<std::string>> read_all(std::size_t limit,
                                                Clock::time_point deadline) override {
    if (streamed_) {
      std::string all;
      for (;;) {
        auto piece = co_await next(deadline, false);
        if (!piece) co_return piece.error();
        if (piece->empty()) co_return all;
        if (all.size() + piece->size() > limit)
          co_return make_error(ErrorKind::kUpstreamError, "upstream_response_too_large",
                               "the upstream's answer exceeds " + std::to_string(limit) + " bytes");
        all.append(*piece);
      }
    }
    auto body = co_await inner_->read_all(limit, deadline);
    if (!body) co_return body.error();
    if (inner_->status() != 200) co_return reader_->error_body(*body);
    co_return reader_->whole(*body);
  }

 private:
  // The chat SSE bytes of the next upstream piece(s) that give any; with `keep_alive`, an SSE
  // comment once half the time to `deadline` has gone by on events that gave none.
  asio::awaitable<Result<std::string_view>> next(Clock::time_point deadline, bool keep_alive) {
    // What was translated before a failure goes out first; the failure with the next call.
    const Clock::time_point started = Clock::now();
    out_.clear();
    silent_event_ = false;
    while (out_.empty()) {
      if (failure_) co_return *failure_;
      if (ended_) co_return std::string_view();
      if (keep_alive && silent_event_ && Clock::now() - started >= (deadline - started) / 2) {
        out_ = ":\n\n";
        break;
      }
      auto piece = co_await inner_->read_some(deadline);
      if (!piece) co_return piece.error();
      if (piece->empty()) {
        parser_.finish();
        ended_ = true;
        // A stream that stops before its final event (no error said why) is cut short, not done:
        // the relay reports it broken instead of passing a truncated answer as complete.
        if (!reader_->finished())
          failure_ = make_error(ErrorKind::kUpstreamError, "upstream_stream_cut",
                                "the upstream's stream ended before its final event");
        continue;
      }
      read_ += piece->size();
      if (read_ > max_bytes_) {
        failure_ = make_error(ErrorKind::kUpstreamError, "upstream_stream_too_large",
                              "the upstream's stream exceeds max_stream_bytes (" +
                                  std::to_string(max_bytes_) + " bytes)");
        continue;
      }
      if (!parser_.feed(*piece))
        failure_ = make_error(ErrorKind::kUpstreamError, "upstream_stream_too_large",
                              "a line or event of the upstream's stream exceeds its bound");
    }
    co_return std::string_view(out_);
  }

  std::unique_ptr<UpstreamResponse> inner_;
  std::unique_ptr<api::UpstreamToChat> reader_;
  const bool streamed_;
  const std::string content_type_;
  const std::size_t max_bytes_;  // of the upstream's stream
  std::size_t read_ = 0;         // the upstream's stream bytes read so far
  std::string out_;  // what the last read_some() returns
  bool silent_event_ = false;  // an event since next() began translated to nothing
  api::SseParser parser_;
  bool ended_ = false, whole_done_ = false;
  std::optional<Error> failure_;  // returned once out_ is sent
};

// The chat body this call sends (a multi-call plan's buffered one, else the request's).
std::string_view chat_of(const RequestContext& ctx, const CallState& st) {
  return st.buffered ? std::string_view(*st.buffered) : std::string_view(ctx.body);
}

}  // namespace

std::string TranslatedApi::refusal(const RequestContext& ctx, const CallState& st,
                                   const Replica& replica) const {
  const std::string label = replica_label(replica);
  const std::string api(name());
  if (ctx.kind != RequestKind::kChat)
    return label + " speaks the " + api + " API, which has no embeddings";
  if (!ctx.native_only.empty() && ctx.native_api == name())
    return label + " speaks the " + api + " API, but this request is not passed through (" +
           (st.buffered ? "a multi-call plan's calls are chat completions"
                        : "the guard rewrote it") +
           ") and the translation cannot carry it: " + std::string(ctx.native_only);
  if (!ctx.native_only.empty())
    return label + " speaks the " + api + " API; " + std::string(ctx.native_only);
  const ModelRuntime* model = ctx.runtime ? ctx.runtime->find_model(replica.model) : nullptr;
  const auto& translated =
      translation(ctx, st, model ? model->reasoning() : config::ReasoningMode::kAuto);
  if (!translated) return label + " (" + api + " API): " + translated.error().message;
  return {};
}

const Result<std::string>& TranslatedApi::translation(const RequestContext& ctx,
                                                      const CallState& st,
                                                      config::ReasoningMode reasoning) const {
  const std::string_view chat = chat_of(ctx, st);
  const bool changes = reasoning_changes(ctx, chat, reasoning);
  const std::string key =
      std::string(name()) + (changes ? ":" + std::to_string(static_cast<int>(reasoning)) : "");
  for (const auto& [k, translated] : st.translations)
    if (k == key) return translated;
  const auto adjusted = changes ? reasoning_body(ctx, chat, reasoning) : std::nullopt;
  return st.translations
      .emplace_front(key, translate(adjusted ? std::string_view(*adjusted) : chat, ""))
      .second;
}

std::string_view TranslatedApi::body(const RequestContext& ctx, CallState& st,
                                     std::string_view model,
                                     config::ReasoningMode reasoning) const {
  // Kept with the state's other renamed bodies, under a key no model name has.
  const std::string key = "\x02" + std::string(name()) + ":" +
                          std::to_string(static_cast<int>(reasoning)) + ":" + std::string(model);
  for (const auto& [n, b] : st.rewritten)
    if (n == key) return b;
  const auto& translated = translation(ctx, st, reasoning);  // refusal() checked it
  return st.rewritten
      .emplace_front(key, translated ? api::rewrite_model(*translated, model) : std::string("{}"))
      .second;
}

ResponseWriter& TranslatedApi::writer(const RequestContext& ctx) const { return *ctx.client; }

api::AnswerCheck TranslatedApi::check_answer(const RequestContext& ctx,
                                             std::string_view whole) const {
  api::AnswerCheck check = NativeApi::check_answer(ctx, whole);
  if (check.problem.empty() && ctx.client) check.problem = ctx.client->answer_problem(whole);
  return check;
}

std::optional<api::Usage> TranslatedApi::usage(std::string_view whole) const {
  return api::parse_usage(whole);
}

std::unique_ptr<UsageMeter> TranslatedApi::stream_meter() const {
  return std::make_unique<MeterOf<api::StreamMeter>>();
}

std::unique_ptr<UpstreamResponse> TranslatedApi::adapt(const RequestContext& ctx,
                                                       const config::ModelConfig& model,
                                                       std::unique_ptr<UpstreamResponse> r) const {
  return std::make_unique<ChatFromUpstream>(std::move(r), reader(ctx), model);
}

}  // namespace switchboard::pipeline
