#include "replay/replay_server.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "data/routerbench_csv.h"
#include "replay/replay_embeddings.h"
#include "replay/replay_wire.h"

namespace switchboard::replay {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using std::chrono::microseconds;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

http::Response json_response(bhttp::status status, std::string body, unsigned version) {
  http::Response r{status, version};
  r.set(bhttp::field::content_type, "application/json");
  r.body() = std::move(body);
  return r;
}

awaitable<void> send_error(http::Exchange& ex, const Error& e) {
  auto status = static_cast<bhttp::status>(http_status(e.kind));
  co_await ex.respond(json_response(status, api::error_json(e), ex.request().version()));
}

awaitable<void> method_not_allowed(http::Exchange& ex, std::string_view allow) {
  Error e = make_error(ErrorKind::kMethodNotAllowed, "method_not_allowed",
                       std::string(ex.request().method_string()) + " is not allowed here; use " +
                           std::string(allow));
  auto r =
      json_response(bhttp::status::method_not_allowed, api::error_json(e), ex.request().version());
  r.set(bhttp::field::allow, allow);
  co_await ex.respond(std::move(r));
}

awaitable<void> sleep_for(asio::any_io_executor exec, microseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer timer(exec);
  timer.expires_after(d);
  co_await timer.async_wait(kNoThrow);
}

microseconds from_ms(double ms) {
  return microseconds(static_cast<std::int64_t>(std::llround(ms * 1000)));
}

std::string faults_json(const FaultOptions& f) {
  nlohmann::json j = {{"error_rate", f.error_rate},         {"hang_rate", f.hang_rate},
                      {"drop_rate", f.drop_rate},           {"ttft_ms", f.ttft_ms},
                      {"tokens_per_sec", f.tokens_per_sec}, {"extra_waiting", f.extra_waiting},
                      {"unhealthy", f.unhealthy},           {"cut", cut_name(f.cut)}};
  return j.dump();
}

}  // namespace

Result<data::Outcomes> load_replay_data(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const data::RouterBenchOptions keep_partial_rows{.require_all_models = false};
  if (fs::is_directory(path, ec))
    return data::load_routerbench_dir(path, data::Split::kAll, keep_partial_rows);
  if (!fs::exists(path, ec))
    return make_error(ErrorKind::kBadRequest, "bad_data_path",
                      path + ": no such file or directory");
  if (path.ends_with(".jsonl")) return data::read_outcomes_jsonl(path);
  if (path.ends_with(".csv")) return data::read_routerbench_csv_file(path, keep_partial_rows);
  return make_error(
      ErrorKind::kBadRequest, "bad_data_path",
      path + ": expected a directory of RouterBench CSVs, a .csv or a .jsonl outcomes file");
}

FaultOptions LiveFaults::get() const {
  constexpr auto r = std::memory_order_relaxed;
  return {error_rate_.load(r),     hang_rate_.load(r),     drop_rate_.load(r), ttft_ms_.load(r),
          tokens_per_sec_.load(r), extra_waiting_.load(r), unhealthy_.load(r), cut_.load(r)};
}

void LiveFaults::set(const FaultOptions& o) {
  constexpr auto r = std::memory_order_relaxed;
  error_rate_.store(o.error_rate, r);
  hang_rate_.store(o.hang_rate, r);
  drop_rate_.store(o.drop_rate, r);
  ttft_ms_.store(o.ttft_ms, r);
  tokens_per_sec_.store(o.tokens_per_sec, r);
  extra_waiting_.store(o.extra_waiting, r);
  unhealthy_.store(o.unhealthy, r);
  cut_.store(o.cut, r);
}

Result<FaultOptions> apply_fault_update(std::string_view body, FaultOptions current) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorKind::kBadRequest, "invalid_json",
                      "expected a JSON object of fault settings");
  struct Field {
    const char* name;
    double* target;
    double max;
  };
  const double kInf = HUGE_VAL;
  for (const Field& f :
       {Field{"error_rate", &current.error_rate, 1.0}, Field{"hang_rate", &current.hang_rate, 1.0},
        Field{"drop_rate", &current.drop_rate, 1.0}, Field{"ttft_ms", &current.ttft_ms, kInf},
        Field{"tokens_per_sec", &current.tokens_per_sec, kInf},
        Field{"extra_waiting", &current.extra_waiting, kInf},
        Field{"unhealthy", &current.unhealthy, 1.0}}) {
    auto it = j.find(f.name);
    if (it == j.end()) continue;
    double v = it->is_number() ? it->get<double>() : -1;
    if (!std::isfinite(v) || v < 0 || v > f.max)
      return make_error(ErrorKind::kBadRequest, "invalid_request",
                        std::string(f.name) + (f.max == 1.0 ? " must be a number in [0, 1]"
                                                            : " must be a non-negative number"));
    *f.target = v;
  }
  if (auto it = j.find("cut"); it != j.end()) {
    std::optional<Cut> cut = it->is_string() ? parse_cut(it->get<std::string>()) : std::nullopt;
    if (!cut)
      return make_error(ErrorKind::kBadRequest, "invalid_request",
                        "cut must be \"event\", \"line\" or \"utf8\"");
    current.cut = *cut;
  }
  return current;
}

ReplayService::ReplayService(ReplayBook book, std::string model, Prices prices, FaultOptions faults,
                             std::uint64_t seed, std::size_t embedding_dim)
    : book_(std::move(book)),
      model_(std::move(model)),
      prices_(prices),
      embedding_dim_(embedding_dim),
      faults_(faults),
      rng_(seed) {}

double ReplayService::draw() {
  std::lock_guard lock(rng_mu_);
  return static_cast<double>(rng_() >> 11) *
         0x1.0p-53;  // uniform in [0, 1), same on every platform
}

awaitable<void> ReplayService::handle(http::Exchange& ex) {
  if (ex.read_error()) {
    co_await send_error(ex, *ex.read_error());
    co_return;
  }
  std::string_view target = ex.request().target();
  std::string_view path = target.substr(0, target.find('?'));
  const bhttp::verb verb = ex.request().method();
  const unsigned version = ex.request().version();
  if (path == "/v1/chat/completions") {
    if (verb != bhttp::verb::post) co_return co_await method_not_allowed(ex, "POST");
    keep_received(path, ex.request().body());
    co_return co_await chat(ex);
  }
  if (path == "/v1/responses") {
    if (verb != bhttp::verb::post) co_return co_await method_not_allowed(ex, "POST");
    co_return co_await responses(ex);
  }
  if (path == "/v1/messages") {
    if (verb != bhttp::verb::post) co_return co_await method_not_allowed(ex, "POST");
    co_return co_await messages(ex);
  }
  if (path == "/admin/received") {
    if (verb != bhttp::verb::get) co_return co_await method_not_allowed(ex, "GET");
    http::Response r = json_response(bhttp::status::ok, received_json(), version);
    co_await ex.respond(std::move(r));
    co_return;
  }
  if (path == "/v1/embeddings" && embedding_dim_ > 0) {
    if (verb != bhttp::verb::post) co_return co_await method_not_allowed(ex, "POST");
    co_return co_await embeddings(ex);
  }
  if (path == "/v1/models") {
    if (verb != bhttp::verb::get) co_return co_await method_not_allowed(ex, "GET");
    co_await ex.respond(json_response(bhttp::status::ok, models_json(model_), version));
    co_return;
  }
  if (path == "/healthz" || path == "/health") {
    if (verb != bhttp::verb::get) co_return co_await method_not_allowed(ex, "GET");
    if (path == "/health" && faults_.get().unhealthy > 0) {
      co_await ex.respond(
          json_response(bhttp::status::service_unavailable, R"({"status":"unhealthy"})", version));
      co_return;
    }
    co_await ex.respond(json_response(bhttp::status::ok, R"({"status":"ok"})", version));
    co_return;
  }
  if (path == "/metrics") {
    if (verb != bhttp::verb::get) co_return co_await method_not_allowed(ex, "GET");
    http::Response r{bhttp::status::ok, version};
    r.set(bhttp::field::content_type, "text/plain; version=0.0.4");
    r.body() = metrics_text();
    co_await ex.respond(std::move(r));
    co_return;
  }
  if (path == "/admin/faults") {
    if (verb != bhttp::verb::post) co_return co_await method_not_allowed(ex, "POST");
    co_return co_await admin_faults(ex);
  }
  if (path == "/admin/stats") {
    if (verb != bhttp::verb::get) co_return co_await method_not_allowed(ex, "GET");
    nlohmann::json j = {{"requests", requests()}};
    co_await ex.respond(json_response(bhttp::status::ok, j.dump(), version));
    co_return;
  }
  if (verb == bhttp::verb::post) keep_received(path, ex.request().body());  // what was asked
  co_await send_error(
      ex, make_error(ErrorKind::kNotFound, "not_found", "no route for " + std::string(path)));
}

awaitable<void> ReplayService::embeddings(http::Exchange& ex) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  const FaultOptions f = faults_.get();
  if (pick_fault(draw(), f.error_rate, 0, 0) == Fault::kError) {
    const Error e = make_error(ErrorKind::kInternal, "replay_injected_error",
                               "injected failure (replay-backend error rate)");
    co_return co_await send_error(ex, e);
  }
  auto answer = embeddings_answer(ex.request().body(), model_, embedding_dim_);
  if (!answer) {
    const Error e = answer.error();
    co_return co_await send_error(ex, e);
  }
  co_await sleep_for(ex.executor(), from_ms(f.ttft_ms));
  http::Response r = json_response(bhttp::status::ok, std::move(*answer), ex.request().version());
  co_await ex.respond(std::move(r));
}

awaitable<void> ReplayService::admin_faults(http::Exchange& ex) {
  auto updated = apply_fault_update(ex.request().body(), faults_.get());
  if (!updated) co_return co_await send_error(ex, updated.error());
  faults_.set(*updated);
  co_await ex.respond(
      json_response(bhttp::status::ok, faults_json(*updated), ex.request().version()));
}

std::string ReplayService::metrics_text() const {
  const std::int64_t running = running_.load(std::memory_order_relaxed);
  const auto waiting = static_cast<std::int64_t>(faults_.get().extra_waiting);
  const std::string labels = "{model_name=\"" + model_ + "\"}";
  std::string out;
  out += "# HELP vllm:num_requests_running Number of requests currently running on GPU.\n";
  out += "# TYPE vllm:num_requests_running gauge\n";
  out += "vllm:num_requests_running" + labels + " " + std::to_string(running) + ".0\n";
  out += "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n";
  out += "# TYPE vllm:num_requests_waiting gauge\n";
  out += "vllm:num_requests_waiting" + labels + " " + std::to_string(waiting) + ".0\n";
  out += "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.\n";
  out += "# TYPE vllm:gpu_cache_usage_perc gauge\n";
  out += "vllm:gpu_cache_usage_perc" + labels + " " +
         std::to_string(std::min(1.0, running / 100.0)) + "\n";
  return out;
}

ReplayService::Recorded ReplayService::recorded(const ReplayRequest& req,
                                                std::int64_t number) const {
  const std::string model = req.model.empty() ? model_ : req.model;
  Answer answer = answer_for(book_, req, model, prices_);
  CompletionHead head{
      "chatcmpl-replay-" + prompt_hash(req.prompt_key) + "-" + std::to_string(number), model,
      static_cast<std::int64_t>(std::time(nullptr))};
  return {std::move(answer), std::move(head)};
}

awaitable<void> ReplayService::chat(http::Exchange& ex) {
  const InFlight in_flight = begin_request();
  const std::int64_t number = in_flight.number;
  auto req = parse_replay_request(ex.request().body());
  if (!req) co_return co_await send_error(ex, req.error());

  const FaultOptions f = faults_.get();
  const Fault fault = pick_fault(draw(), f.error_rate, f.hang_rate, f.drop_rate);
  auto exec = ex.executor();
  if (fault == Fault::kError) {
    co_return co_await send_error(ex, make_error(ErrorKind::kInternal, "replay_injected_error",
                                                 "injected failure (replay-backend error rate)"));
  }
  if (fault == Fault::kHang) {
    co_await sleep_for(exec, std::chrono::hours(1));
    ex.set_close_after();  // if we ever get here the server answers 500
    co_return;
  }

  const Recorded rec = recorded(*req, number);
  const Answer& answer = rec.answer;
  const CompletionHead& head = rec.head;
  const auto pieces = split_pieces(answer.text);
  const microseconds gap =
      f.tokens_per_sec > 0 ? from_ms(1000.0 / f.tokens_per_sec) : microseconds(0);
  const unsigned version = ex.request().version();
  co_await sleep_for(exec, from_ms(f.ttft_ms));

  if (!req->stream) {
    co_await sleep_for(exec, gap * static_cast<std::int64_t>(pieces.size()));
    std::string body = completion_json(head, answer.text, answer.usage);
    if (fault == Fault::kDrop) {
      ex.abort();  // the connection closes without an answer
      co_return;
    }
    co_await ex.respond(json_response(bhttp::status::ok, std::move(body), version));
    co_return;
  }

  http::ResponseHead stream_head{bhttp::status::ok, version};
  stream_head.set(bhttp::field::content_type, "text/event-stream");
  stream_head.set(bhttp::field::cache_control, "no-cache");
  if (!co_await ex.start_stream(std::move(stream_head))) co_return;
  if (!co_await ex.write_chunk(sse_event(role_chunk_json(head)))) co_return;
  const DropPlan drop =
      fault == Fault::kDrop ? plan_drop(pieces, f.cut) : DropPlan{pieces.size(), std::nullopt};
  for (std::size_t i = 0; i < drop.whole; ++i) {
    if (i > 0) co_await sleep_for(exec, gap);
    if (!co_await ex.write_chunk(sse_event(content_chunk_json(head, pieces[i])))) co_return;
  }
  if (fault == Fault::kDrop) {
    if (drop.cut_piece) {  // part of one more event, cut inside its line or a character
      const std::string event = sse_event(content_chunk_json(head, *drop.cut_piece));
      const std::size_t bytes = cut_offset(event, f.cut);  // > 0; an empty chunk would end the body
      if (drop.whole > 0) co_await sleep_for(exec, gap);
      if (bytes > 0 && !co_await ex.write_chunk(std::string_view(event).substr(0, bytes)))
        co_return;
    }
    ex.abort();  // returning without finish_stream() cuts the chunked body short
    co_return;
  }
  if (!co_await ex.write_chunk(sse_event(stop_chunk_json(head)))) co_return;
  if (req->include_usage &&
      !co_await ex.write_chunk(sse_event(usage_chunk_json(head, answer.usage))))
    co_return;
  if (!co_await ex.write_chunk("data: [DONE]\n\n")) co_return;
  co_await ex.finish_stream();
}

int run_replay_backend(const ReplayOptions& options) {
  std::shared_ptr<ReplayService> service;
  {
    auto data = load_replay_data(options.data_path);
    if (!data) {
      std::cerr << "replay-backend: " << data.error().message << std::endl;
      return 2;
    }
    auto models = data->models();
    if (options.embedding_dim == 0 &&
        std::find(models.begin(), models.end(), options.model) == models.end()) {
      std::string known;
      for (std::size_t i = 0; i < models.size(); ++i) known += (i ? ", " : "") + models[i];
      std::cerr << "replay-backend: model '" << options.model << "' is not in " << options.data_path
                << " (it has: " << (known.empty() ? "no models" : known) << ")" << std::endl;
      return 2;
    }
    service =
        std::make_shared<ReplayService>(ReplayBook::build(*data, options.model), options.model,
                                        options.prices, options.faults, options.seed,
                                        options.embedding_dim);
  }
  http::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.threads = std::max(1u, options.threads);
  so.drain_timeout = std::chrono::milliseconds(1000);  // hung requests should not hold up an exit
  auto server = http::Server::create(
      so, [service](http::Exchange& ex) -> awaitable<void> { return service->handle(ex); });
  if (!server) {
    std::cerr << "replay-backend: " << server.error().message << std::endl;
    return 2;
  }
  asio::signal_set signals((*server)->context(0), SIGINT, SIGTERM);
  signals.async_wait([&server](const boost::system::error_code& ec, int) {
    if (!ec) (*server)->begin_shutdown();
  });
  std::cout << "replay-backend: model=" << options.model << " prompts=" << service->prompts()
            << " listening on " << options.host << ":" << (*server)->port() << std::endl;
  (*server)->run();
  return 0;
}

}  // namespace switchboard::replay
