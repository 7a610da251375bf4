// The replay backend: an OpenAI-compatible fake upstream serving one model from recorded outcomes,
// with injectable latency and failures, for tests, demos and benchmarks of the gateway.
//
// Endpoints:
//   POST /v1/chat/completions  recorded answer (or placeholder), plain or streamed (SSE)
//   POST /v1/responses         the same answer in the OpenAI Responses API's shape (replay_native.cc)
//   POST /v1/messages          the same answer in the Anthropic Messages API's shape
//   POST /v1/embeddings        with --embedding-dim N: deterministic vectors (replay_embeddings.h);
//                              otherwise 404
//   GET  /v1/models            the one model served
//   GET  /healthz, /health     {"status":"ok"} (/health: 503 while the `unhealthy` fault is set)
//   GET  /metrics              vLLM-style gauges: vllm:num_requests_running (chat requests being
//                              answered), vllm:num_requests_waiting (0 + the extra_waiting fault),
//                              vllm:gpu_cache_usage_perc (running / 100, at most 1)
//   POST /admin/faults         TEST ONLY: change fault settings live; answers with the settings
//   GET  /admin/stats          TEST ONLY: {"requests": N}, N = chat-completion, Responses,
//                              Messages and embeddings requests received
//   GET  /admin/received       TEST ONLY: the last request bodies (keep_received): chat,
//                              Responses, Messages, and POSTs to paths it does not serve
// Any other path is 404, a known path with another method 405, both with OpenAI error bodies.
//
// Fault injection: each chat-completion request draws one number from a PRNG seeded with --seed
// (shared under a mutex, so a single-threaded server is reproducible run to run) and picks at most
// one of: error (HTTP 500), hang (no answer for an hour, or until shutdown), drop (a stream stops
// after about half its chunks, where `cut` says: after a whole event, in the middle of the next
// event's line, or inside a multi-byte UTF-8 character — see plan_drop(); a plain answer is not
// sent at all) — see pick_fault().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "api/answer_translator.h"
#include "data/outcomes.h"
#include "http/server.h"
#include "replay/replay_core.h"
#include "replay/replay_wire.h"

namespace switchboard::replay {

struct FaultOptions {
  double error_rate = 0, hang_rate = 0, drop_rate = 0;  // each in [0, 1]
  double ttft_ms = 0;                                   // delay before the first byte of an answer
  double tokens_per_sec = 0;  // pacing of stream pieces; 0 = as fast as possible
  double extra_waiting = 0;   // added to vllm:num_requests_waiting on /metrics (a fake backlog)
  double unhealthy = 0;       // 1: GET /health answers 503 (0 or 1)
  Cut cut = Cut::kEvent;      // where the drop fault cuts a stream
};

struct ReplayOptions {
  std::string
      data_path;  // a directory of RouterBench CSVs, one such .csv, or a .jsonl outcomes file
  std::string model;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  unsigned threads = 1;
  Prices prices;
  FaultOptions faults;
  std::uint64_t seed = 1;
  // > 0: also serve /v1/embeddings with vectors this long, and the model need not be in the data
  // (an embedding model has no recorded answers).
  std::size_t embedding_dim = 0;
};

// Loads the data set: a directory → all its RouterBench CSVs (both splits), a .csv file → that
// table (rows with missing scores kept in both cases); a .jsonl file → read_outcomes_jsonl.
// Errors name the path.
Result<data::Outcomes> load_replay_data(const std::string& path);

// Settings that /admin/faults may change while requests run. Relaxed atomics: a request reads a
// consistent-enough snapshot at its start.
class LiveFaults {
 public:
  explicit LiveFaults(const FaultOptions& o) { set(o); }
  FaultOptions get() const;
  void set(const FaultOptions& o);

 private:
  std::atomic<double> error_rate_, hang_rate_, drop_rate_, ttft_ms_, tokens_per_sec_,
      extra_waiting_, unhealthy_;
  std::atomic<Cut> cut_;
};

// Applies a JSON object with any subset of error_rate, hang_rate, drop_rate, ttft_ms,
// tokens_per_sec, extra_waiting, unhealthy (numbers) and cut ("event", "line" or "utf8") to
// `current`. Errors (kBadRequest): not JSON / not an object, a value of the wrong type or out of
// range; nothing is applied then.
Result<FaultOptions> apply_fault_update(std::string_view body, FaultOptions current);

// Serves one model. Constant after construction except the members marked otherwise; handle() is
// safe to call concurrently from the server's workers.
class ReplayService {
 public:
  ReplayService(ReplayBook book, std::string model, Prices prices, FaultOptions faults,
                std::uint64_t seed, std::size_t embedding_dim = 0);

  boost::asio::awaitable<void> handle(http::Exchange& ex);
  std::int64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  // Distinct prompts with a recorded outcome for the model.
  std::size_t prompts() const { return book_.size(); }

 private:
  // A chat, Responses or Messages request: counted as received (its number) and as running until
  // the InFlight is destroyed.
  struct InFlight {
    std::atomic<std::int64_t>& running;
    std::int64_t number;
    ~InFlight() { running.fetch_sub(1, std::memory_order_relaxed); }
  };
  InFlight begin_request() {
    running_.fetch_add(1, std::memory_order_relaxed);
    return InFlight{running_, requests_.fetch_add(1, std::memory_order_relaxed) + 1};
  }
  // The recorded answer to `req` (for the model it names, else the served one) and the head of
  // its chat chunks (request number `number`).
  struct Recorded {
    Answer answer;
    CompletionHead head;
  };
  Recorded recorded(const ReplayRequest& req, std::int64_t number) const;
  boost::asio::awaitable<void> chat(http::Exchange& ex);
  boost::asio::awaitable<void> embeddings(http::Exchange& ex);
  // POST /v1/responses and POST /v1/messages, natively (replay_native.cc): the request read as
  // the gateway's front end for that API reads it, the recorded answer in the API's shape (whole,
  // or its event sequence), as an upstream with `api: responses` / `api: anthropic` answers.
  boost::asio::awaitable<void> responses(http::Exchange& ex);
  boost::asio::awaitable<void> messages(http::Exchange& ex);
  template <class Request>
  boost::asio::awaitable<void> native(
      http::Exchange& ex, std::string_view path, Result<Request> (*parse)(std::string_view),
      std::unique_ptr<api::AnswerTranslator> (*make_translator)(const Request*));
  // The last kKeepReceived request bodies of /v1/chat/completions, /v1/responses and
  // /v1/messages (each cut to kKeepBytes), for tests: GET /admin/received →
  // {"requests":[{"path","body"}...]}, oldest first.
  void keep_received(std::string_view path, std::string_view body);
  std::string received_json() const;
  boost::asio::awaitable<void> admin_faults(http::Exchange& ex);
  std::string metrics_text() const;
  double draw();

  const ReplayBook book_;
  const std::string model_;
  const Prices prices_;
  const std::size_t embedding_dim_;  // 0: no /v1/embeddings
  LiveFaults faults_;                      // atomics
  std::atomic<std::int64_t> requests_{0};  // chat-completion requests received
  std::atomic<std::int64_t> running_{0};   // chat-completion requests being answered
  static constexpr std::size_t kKeepReceived = 16, kKeepBytes = 64 * 1024;
  mutable std::mutex received_mu_;
  std::deque<std::pair<std::string, std::string>> received_;  // guarded by received_mu_
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // guarded by rng_mu_
};

// Loads the data, binds, prints "replay-backend: model=M prompts=N listening on HOST:PORT" (N =
// ReplayService::prompts(), PORT the bound one when 0 was asked for) and
// serves until SIGINT/SIGTERM. Returns the process exit code: 0 after a clean shutdown, 2 on a
// start-up error (unreadable data, model absent from the data, cannot bind) with a message on
// stderr.
int run_replay_backend(const ReplayOptions& options);

}  // namespace switchboard::replay
