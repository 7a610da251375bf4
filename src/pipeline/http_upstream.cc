#include "pipeline/http_upstream.h"

#include "config/config.h"
#include "switchboard/balancer.h"

namespace switchboard::pipeline {

namespace {
namespace bhttp = http::bhttp;

class HttpResponse final : public UpstreamResponse {
 public:
  explicit HttpResponse(std::unique_ptr<http::UpstreamCall> call) : call_(std::move(call)) {}
  unsigned status() const override { return call_->status(); }
  const std::string& content_type() const override { return call_->content_type(); }
  std::string_view retry_after() const override { return call_->retry_after(); }
  asio::awaitable<Result<std::string_view>> read_some(
      UpstreamResponse::Clock::time_point deadline) override {
    return call_->read_some(deadline);
  }
  asio::awaitable<Result<std::string>> read_all(
      std::size_t limit, UpstreamResponse::Clock::time_point deadline) override {
    return call_->read_all(limit, deadline);
  }
  void cancel() override { call_->cancel(); }

 private:
  std::unique_ptr<http::UpstreamCall> call_;
};
}  // namespace

asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> HttpUpstream::start(
    const ModelCall& call) {
  const auto& rc = *call.replica->config;
  std::string target_path;
  target_path.reserve(rc.endpoint.base_path.size() + call.path.size());
  target_path.append(rc.endpoint.base_path).append(call.path);
  // The body is a view of the one the executor holds (ModelCall::body outlives the call): every
  // attempt and hedge writes the same bytes, none copies them.
  auto up = http::make_upstream_request(bhttp::verb::post, target_path, call.body);
  up.sent = call.sent;
  up.resent = call.resent;
  up.set("Content-Type", "application/json");
  up.set("Accept", call.stream ? "text/event-stream" : "application/json");
  for (const auto& [name, value] : call.headers) up.set(name, value);
  for (const auto& [name, value] : call.client_headers) up.set(name, value);
  up.canceller = call.canceller;
  std::string_view authorization = call.authorization;
  http::UpstreamTarget target{&rc.endpoint, authorization, call.replica->index,
                              call.connect_timeout, rc.label};
  auto started = co_await client_->start(target, std::move(up), call.deadline);
  if (!started) co_return started.error();
  co_return std::unique_ptr<UpstreamResponse>(std::make_unique<HttpResponse>(std::move(*started)));
}

}  // namespace switchboard::pipeline
