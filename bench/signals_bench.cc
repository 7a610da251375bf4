// The cost of the signals of one 2,000-token prompt (8,000 characters, the gateway's estimate of 4
// characters per token) on one core, with the real weights (`make weights`): each signal alone, all
// of them, and the `rules` policy's decision on top. Prompts are 64 different texts drawn from the
// GloVe vocabulary with Zipf frequencies (so lookups are not all cache-hot), cycled.
// Run: cmake -DSWITCHBOARD_BENCH=ON ... && build/bench/signals_bench
// (SB_TASK_MODEL=FILE adds the task classifier.)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "config/config.h"
#include "pipeline/runtime.h"
#include "signals/extractor.h"
#include "signals/glove.h"

using namespace switchboard;

namespace {

struct Fixture {
  std::shared_ptr<const signals::Extractor> extractor;
  std::vector<std::string> prompts;
  std::unique_ptr<pipeline::Runtime> runtime;
  std::shared_ptr<const config::Config> config;

  Fixture() {
    SignalNeeds all;
    all.language = all.code = all.embedding = true;
    auto ex = signals::Extractor::load({}, all);
    if (!ex) {
      std::fprintf(stderr, "signals_bench: %s\n", ex.error().message.c_str());
      std::exit(1);
    }
    extractor = *ex;
    auto glove =
        signals::GloveTable::open(signals::default_weights_dir() + "/" + signals::kGloveFileName);
    std::mt19937_64 rng(42);
    // Zipf over the 50,000 most frequent words.
    std::vector<double> w(50000);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 1.0 / double(i + 1);
    std::discrete_distribution<std::size_t> zipf(w.begin(), w.end());
    for (int p = 0; p < 64; ++p) {
      std::string text;
      int in_sentence = 0;
      while (text.size() < 8000) {
        std::string_view word = (*glove)->word(zipf(rng));
        text += word;
        if (++in_sentence == 15) {
          text += ".\n";
          in_sentence = 0;
        } else {
          text += ' ';
        }
      }
      prompts.push_back(std::move(text));
    }
    auto cfg = config::parse_config(R"(models:
  - {name: general, replicas: [{url: 'http://h:1'}]}
  - {name: french, replicas: [{url: 'http://h:2'}]}
  - {name: coder, replicas: [{url: 'http://h:3'}]}
  - {name: long, replicas: [{url: 'http://h:4'}]}
routes:
  - name: r
    policy:
      type: rules
      rules:
        - {when: {prompt_tokens: {gt: 32000}}, model: long}
        - {when: {language: {not: en}}, model: french}
        - {when: {any: [{has_code: true}, {keywords: [python, javascript, rust, golang, kotlin]}, {regex: "(?i)stack ?trace"}]}, model: coder}
      default: general
)",
                                    "bench.yaml");
    config = *cfg;
    auto rt = pipeline::build_runtime(config);
    if (!rt) {
      std::fprintf(stderr, "signals_bench: %s\n", rt.error().message.c_str());
      std::exit(1);
    }
    runtime = std::move(*rt);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Also reports the p50 and p99 of single extractions (steady_clock around each; ~20 ns overhead).
void run(benchmark::State& state, SignalNeeds needs) {
  auto& f = fixture();
  std::size_t i = 0;
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Signals s;
    s.prompt_tokens = 2000;
    f.extractor->extract(f.prompts[i++ & 63], needs, s);
    benchmark::DoNotOptimize(s);
    if (us.size() < us.capacity())
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  if (!us.empty()) {
    std::sort(us.begin(), us.end());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
  }
}

void BM_Embedding(benchmark::State& state) {
  SignalNeeds n;
  n.embedding = true;
  run(state, n);
}
void BM_Language(benchmark::State& state) {
  SignalNeeds n;
  n.language = true;
  run(state, n);
}
void BM_Code(benchmark::State& state) {
  SignalNeeds n;
  n.code = true;
  run(state, n);
}
void BM_AllSignals(benchmark::State& state) {
  SignalNeeds n;
  n.language = n.code = n.embedding = true;
  run(state, n);
}

// The task classifier, when SB_TASK_MODEL names a trained model (signals::train_task_classifier).
void BM_Task(benchmark::State& state) {
  const char* path = std::getenv("SB_TASK_MODEL");
  if (!path || !*path) {
    state.SkipWithError("set SB_TASK_MODEL to a trained task classifier");
    return;
  }
  signals::ExtractorOptions options;
  options.task_model = path;
  static auto ex = signals::Extractor::load(options, SignalNeeds{.task = true});
  if (!ex) {
    state.SkipWithError(ex.error().message.c_str());
    return;
  }
  auto& f = fixture();
  std::size_t i = 0;
  for (auto _ : state) {
    Signals s;
    (*ex)->extract(f.prompts[i++ & 63], SignalNeeds{.task = true}, s);
    benchmark::DoNotOptimize(s);
  }
}

// What the gateway does for a rules route: signals the route needs (language, code) + decision.
void BM_RulesRouteSignalsAndDecision(benchmark::State& state) {
  auto& f = fixture();
  const auto* route = f.runtime->find_route("r");
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& p = f.prompts[i++ & 63];
    Signals s;
    s.prompt_tokens = 2000;
    s.message_count = 1;
    f.runtime->extractor->extract(p, route->needs, s);
    RouteRequest rr;
    rr.route = "r";
    rr.prompt_text = p;
    auto d = f.runtime->decide("r", rr, s);
    benchmark::DoNotOptimize(d);
  }
}

}  // namespace

BENCHMARK(BM_Embedding);
BENCHMARK(BM_Language);
BENCHMARK(BM_Code);
BENCHMARK(BM_AllSignals);
BENCHMARK(BM_Task);
BENCHMARK(BM_RulesRouteSignalsAndDecision);
BENCHMARK_MAIN();
