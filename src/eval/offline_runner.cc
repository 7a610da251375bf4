#include "eval/offline_runner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <exception>

#include "api/errors.h"
#include "core/wall_clock.h"
#include "pipeline/embedding_blocking.h"
#include "pipeline/explain.h"
#include "pipeline/stage_runner.h"

namespace switchboard::eval {
namespace {

// The client, in memory.
class BufferWriter final : public ResponseWriter {
 public:
  explicit BufferWriter(OfflineResult& out) : out_(out) {}
  boost::asio::awaitable<bool> respond(unsigned status, std::string_view, Headers,
                                       std::string body) override {
    out_.status = status;
    out_.body = std::move(body);
    co_return true;
  }
  boost::asio::awaitable<bool> error(const Error& e, Headers) override {
    out_.status = static_cast<unsigned>(http_status(e.kind));
    out_.body = api::error_json(e);
    co_return true;
  }
  boost::asio::awaitable<bool> start_stream(Headers) override {
    out_.status = 200;
    co_return true;
  }
  boost::asio::awaitable<bool> write_chunk(std::string_view data) override {
    out_.body += data;
    co_return true;
  }
  boost::asio::awaitable<bool> stream_error(const Error& e) override {
    out_.body += api::error_sse_event(e);
    out_.body += "data: [DONE]\n\n";
    co_return true;
  }
  boost::asio::awaitable<bool> finish_stream() override { co_return true; }

 private:
  OfflineResult& out_;
};

class CaptureSink final : public pipeline::RecordSink {
 public:
  explicit CaptureSink(OfflineResult& out) : out_(out) {}
  void write(store::DecisionRecord&& record) override { out_.record = std::move(record); }

 private:
  OfflineResult& out_;
};

// The upstream of an explain-only runner, which stops before execute.
class NoCallsUpstream final : public Upstream {
 public:
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamResponse>>> start(const ModelCall&) override {
    co_return make_error(ErrorKind::kInternal, "internal_error",
                         "an explain-only run called a model");
  }
};

}  // namespace

// signals.embedding.provider http, offline: one blocking call per distinct prompt text.
class OfflineRunner::Embedder final : public pipeline::EmbeddingSource {
 public:
  boost::asio::awaitable<std::string> fill(const pipeline::Runtime& runtime,
                                           const api::ChatRequest& request,
                                           Signals& signals) override {
    const pipeline::RouteRuntime* route = runtime.find_route(request.model);
    if (!route || !route->needs.embedding) co_return "";
    auto it = memo_.find(request.prompt_text);
    if (it == memo_.end()) {
      Signals s = signals;
      auto e = pipeline::add_http_embeddings_blocking(runtime, std::span(&request, 1),
                                                      std::span(&s, 1), route->needs);
      if (e && !error_) error_ = e;
      it = memo_.emplace(request.prompt_text, std::move(s.embedding)).first;
    }
    signals.embedding = it->second;
    co_return "";
  }
  std::optional<Error> error_;

 private:
  std::map<std::string, std::vector<float>, std::less<>> memo_;
};

OfflineRunner::OfflineRunner(const pipeline::Runtime& runtime, Upstream& upstream)
    : runtime_(runtime), upstream_(upstream), embedder_(std::make_unique<Embedder>()) {}

OfflineRunner::OfflineRunner(const pipeline::Runtime& runtime)
    : runtime_(runtime),
      no_calls_(std::make_unique<NoCallsUpstream>()),
      upstream_(*no_calls_),
      embedder_(std::make_unique<Embedder>()) {}

OfflineRunner::~OfflineRunner() = default;

const std::optional<Error>& OfflineRunner::embedding_error() const {
  return embedder_->error_;
}

OfflineResult OfflineRunner::run(std::string_view body, const pipeline::RequestHeaders& headers) {
  return run_stages(body, headers, false);
}

OfflineResult OfflineRunner::explain(std::string_view body, const pipeline::RequestHeaders& headers) {
  return run_stages(body, headers, true);
}

OfflineResult OfflineRunner::run_stages(std::string_view body,
                                        const pipeline::RequestHeaders& headers,
                                        bool explain_only) {
  OfflineResult out;
  BufferWriter writer(out);
  CaptureSink sink(out);
  pipeline::RequestContext ctx;
  ctx.body = body;
  ctx.headers = headers;
  ctx.trusted = true;  // no client to authenticate (docs/keys.md)
  ctx.explain_only = explain_only;
  ctx.runtime = &runtime_;
  ctx.upstream = &upstream_;
  ctx.client = &writer;
  ctx.embedder = runtime_.http_embedding ? embedder_.get() : nullptr;
  ctx.metrics = explain_only ? nullptr : &metrics_;  // an explanation is not a request
  ctx.sink = &sink;
  ctx.rec.id = store::new_decision_id();
  ctx.rec.time_ms = unix_ms();
  std::exception_ptr failure;
  boost::asio::co_spawn(io_, runtime_.runner->run(ctx),
                        [&failure](std::exception_ptr e) { failure = e; });
  io_.restart();
  io_.run();
  if (failure) std::rethrow_exception(failure);
  if (explain_only && ctx.decision) out.explanation = pipeline::route_explanation(ctx);
  out.error = std::move(ctx.error);
  out.decision = std::move(ctx.decision);
  out.signals = std::move(ctx.signals);
  return out;
}

}  // namespace switchboard::eval
