// Runs chat requests through the gateway's own stage runner and executor (pipeline/stage_runner.h,
// pipeline/executor.h), offline, on any Upstream — recorded outcomes for `switchboard eval`
// (replay/recorded_upstream.h). Nothing differs from serving but the front end: the client is a
// buffer, records go to the caller, the signals' http embedding is a blocking, memoised call.
//
// Not thread-safe: one OfflineRunner per thread. run() drives its own io_context to completion.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "metrics/metrics.h"
#include "pipeline/request_context.h"

namespace switchboard::eval {

struct OfflineResult {
  store::DecisionRecord record;      // what the gateway would have recorded
  std::optional<Decision> decision;  // the decide stage's, when it ran
  Signals signals;                   // the request's signals (what the policy decided on)
  unsigned status = 0;               // the status the client got
  std::string body;                  // the whole answer (a stream's events concatenated)
  // explain(): what POST /v1/route would answer (pipeline::route_explanation), or why no decision
  // was made (a parse, guard or decide error).
  std::optional<nlohmann::json> explanation;
  std::optional<Error> error;
};

class OfflineRunner {
 public:
  OfflineRunner(const pipeline::Runtime& runtime, Upstream& upstream);
  // For explain() only: a model call fails with an internal error.
  explicit OfflineRunner(const pipeline::Runtime& runtime);
  ~OfflineRunner();
  // Runs one request: a chat-completions body and the x-switchboard-* headers a client would send.
  OfflineResult run(std::string_view body, const pipeline::RequestHeaders& headers = {});
  // The same stages up to decide, answering nothing and recording nothing: POST /v1/route, offline
  // (`switchboard route`). The upstream is never called.
  OfflineResult explain(std::string_view body, const pipeline::RequestHeaders& headers = {});
  // The first http embedding failure, if any (an evaluation without its embeddings is meaningless).
  const std::optional<Error>& embedding_error() const;
  metrics::GatewayMetrics& metrics() { return metrics_; }

 private:
  OfflineResult run_stages(std::string_view body, const pipeline::RequestHeaders& headers,
                           bool explain_only);
  class Embedder;
  const pipeline::Runtime& runtime_;
  std::unique_ptr<Upstream> no_calls_;  // the upstream of an explain-only runner
  Upstream& upstream_;
  metrics::GatewayMetrics metrics_;
  std::unique_ptr<Embedder> embedder_;
  boost::asio::io_context io_;
};

}  // namespace switchboard::eval
