#include "replay/recorded_upstream.h"

#include <algorithm>
#include <set>

#include "replay/replay_wire.h"

namespace switchboard::replay {
namespace {

class RecordedResponse final : public UpstreamResponse {
 public:
  RecordedResponse(std::string body, bool stream, std::optional<double> billed,
                   std::optional<double> latency)
      : body_(std::move(body)),
        content_type_(stream ? "text/event-stream" : "application/json"),
        billed_(billed),
        latency_(latency) {}
  unsigned status() const override { return 200; }
  const std::string& content_type() const override { return content_type_; }
  boost::asio::awaitable<Result<std::string_view>> read_some(Clock::time_point) override {
    std::string_view rest = std::string_view(body_).substr(offset_);
    offset_ = body_.size();
    co_return rest;
  }
  boost::asio::awaitable<Result<std::string>> read_all(std::size_t limit,
                                                       Clock::time_point) override {
    if (body_.size() - offset_ > limit)
      co_return make_error(ErrorKind::kUpstreamError, "upstream_response_too_large",
                           "recorded answer over the limit");
    std::string rest = body_.substr(offset_);
    offset_ = body_.size();
    co_return rest;
  }
  std::optional<double> billed_usd() const override { return billed_; }
  std::optional<double> recorded_latency_ms() const override { return latency_; }

 private:
  std::string body_;
  std::size_t offset_ = 0;
  std::string content_type_;
  std::optional<double> billed_;
  std::optional<double> latency_;
};

}  // namespace

RecordedUpstream::RecordedUpstream(const data::Outcomes& outcomes,
                                   std::map<std::string, Prices, std::less<>> prices)
    : prices_(std::move(prices)) {
  for (const auto& model : outcomes.models())
    books_.emplace(model, ReplayBook::build(outcomes, model));
}

RecordedUpstream::RecordedUpstream(std::span<const data::PromptRecord* const> records) {
  std::set<std::string> models;
  for (const auto* r : records)
    for (const auto& [m, _] : r->outcomes) models.insert(m);
  for (const auto& model : models) books_.emplace(model, ReplayBook::build(records, model));
}

boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> RecordedUpstream::start(
    const ModelCall& call) {
  auto req = parse_replay_request(call.body);
  if (!req)
    co_return make_error(ErrorKind::kUpstreamError, "upstream_unreachable", req.error().message);
  calls_.fetch_add(1, std::memory_order_relaxed);
  if (call.sent) *call.sent = true;  // the recorded model had the request
  static const ReplayBook kEmpty;
  auto it = books_.find(call.model);
  const ReplayBook& book = it == books_.end() ? kEmpty : it->second;
  const std::string model(call.model);
  auto priced = prices_.find(call.model);
  const bool has_price = priced != prices_.end() && priced->second.output_per_mtok > 0;
  const Answer answer = answer_for(book, *req, model, has_price ? priced->second : Prices{});
  const RecordedAnswer* recorded = book.find(*req);
  std::optional<double> billed, latency;
  if (recorded) {
    if (!has_price) billed = recorded->cost;
    latency = recorded->latency_ms;
  }
  const CompletionHead head{"chatcmpl-recorded-" + prompt_hash(req->prompt_key), req->model, 0};
  std::string body;
  if (!call.stream) {
    body = completion_json(head, answer.text, answer.usage);
  } else {
    body = sse_event(role_chunk_json(head));
    for (auto piece : split_pieces(answer.text)) body += sse_event(content_chunk_json(head, piece));
    body += sse_event(stop_chunk_json(head));
    if (req->include_usage) body += sse_event(usage_chunk_json(head, answer.usage));
    body += "data: [DONE]\n\n";
  }
  co_return std::unique_ptr<UpstreamResponse>(
      std::make_unique<RecordedResponse>(std::move(body), call.stream, billed, latency));
}

}  // namespace switchboard::replay
