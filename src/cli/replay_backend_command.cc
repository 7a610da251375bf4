// `switchboard replay-backend`: an OpenAI-compatible fake upstream answering with recorded
// responses (see replay/replay_server.h).
#include <memory>

#include "cli/command.h"
#include "cli/number_checks.h"
#include "replay/replay_server.h"

namespace switchboard::cli {
namespace {

const CommandRegistrar kReplayBackend(
    "replay-backend", "Serve one model's recorded answers as an OpenAI-compatible upstream",
    [](CLI::App& app) {
      auto o = std::make_shared<replay::ReplayOptions>();
      app.add_option("--data", o->data_path,
                     "Directory of RouterBench CSVs, one such .csv, or a .jsonl outcomes file")
          ->required();
      app.add_option("--model", o->model, "Model to serve (must appear in the data)")->required();
      app.add_option("--port", o->port, "Port to listen on (0 = ephemeral, printed at start)")
          ->required();
      app.add_option("--host", o->host, "Address to listen on")->capture_default_str();
      app.add_option("--threads", o->threads, "Worker threads")
          ->capture_default_str()
          ->check(CLI::Range(1, 256));
      app.add_option("--input-price", o->prices.input_per_mtok, "USD per million prompt tokens")
          ->capture_default_str()
          ->check(finite_number(false));
      app.add_option("--output-price", o->prices.output_per_mtok,
                     "USD per million completion tokens")
          ->capture_default_str()
          ->check(finite_number(false));
      app.add_option("--ttft-ms", o->faults.ttft_ms, "Delay before the first byte of an answer")
          ->capture_default_str()
          ->check(finite_number(false));
      app.add_option("--tokens-per-sec", o->faults.tokens_per_sec, "Stream pacing (0 = no pacing)")
          ->capture_default_str()
          ->check(finite_number(false));
      app.add_option("--error-rate", o->faults.error_rate,
                     "Share of requests answered with HTTP 500")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, 1.0));
      app.add_option("--hang-rate", o->faults.hang_rate, "Share of requests never answered")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, 1.0));
      app.add_option("--drop-rate", o->faults.drop_rate, "Share of requests cut off half-way")
          ->capture_default_str()
          ->check(finite_number(false) & CLI::Range(0.0, 1.0));
      auto cut = std::make_shared<std::string>("event");
      app.add_option("--cut", *cut,
                     "Where a dropped stream is cut: after a whole event, mid-line, or inside a "
                     "multi-byte UTF-8 character")
          ->capture_default_str()
          ->check(CLI::IsMember({"event", "line", "utf8"}));
      app.add_option("--seed", o->seed, "Seed of the fault PRNG")
          ->capture_default_str()
          ->check(whole_number());
      // Bounded like a request's `dimensions` (replay_embeddings.cc): 99999999999 aborted the
      // server at its first embedding.
      app.add_option("--embedding-dim", o->embedding_dim,
                     "Also serve /v1/embeddings with deterministic vectors of this length, at "
                     "most 8192 (the model need not be in the data then)")
          ->check(whole_number() & CLI::Range(0, 8192));
      return [o, cut] {
        o->faults.cut = replay::parse_cut(*cut).value_or(replay::Cut::kEvent);
        return replay::run_replay_backend(*o);
      };
    });

}  // namespace
}  // namespace switchboard::cli
