// The cache stage's CPU cost of a hit for a 2,000-token prompt (8,000 characters), embedding
// included: normalising the request (simdjson), the exact-key lookup in an in-process store holding
// 10,000 entries, and for a near-duplicate (exact miss) the guard features of the last message, the
// GloVe embedding (both from one pass over the prompt, cache/prompt_analysis.h) and the hnswlib
// search + guards; then the answer's body. The request's own parse
// (the parse stage) is not counted. Prompts are 64 different texts drawn from the GloVe vocabulary
// with Zipf frequencies, cycled. Needs the weights (`make weights`). Run: build/bench/cache_bench.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "api/chat_request.h"
#include "cache/cache_config.h"
#include "cache/features.h"
#include "cache/memory_store.h"
#include "cache/prompt_analysis.h"
#include "cache/request_key.h"
#include "signals/extractor.h"
#include "signals/glove.h"

using namespace switchboard;

namespace {

struct Fixture {
  std::unique_ptr<signals::GloveTable> glove;
  std::unique_ptr<cache::MemoryStore> store;
  std::vector<std::string> bodies, near_bodies;
  std::vector<api::ChatRequest> reqs, near_reqs;

  Fixture() {
    auto g =
        signals::GloveTable::open(signals::default_weights_dir() + "/" + signals::kGloveFileName);
    if (!g) {
      std::fprintf(stderr, "cache_bench: %s\n", g.error().message.c_str());
      std::exit(1);
    }
    glove = std::move(*g);
    cache::Limits limits;
    limits.max_entries = 20'000;
    limits.max_bytes = std::size_t{1} << 30;
    store = std::make_unique<cache::MemoryStore>(limits, glove->dim());
    std::mt19937_64 rng(7);
    std::vector<double> w(50000);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 1.0 / double(i + 1);
    std::discrete_distribution<std::size_t> zipf(w.begin(), w.end());
    auto text = [&](std::size_t bytes) {
      std::string t;
      int n = 0;
      while (t.size() < bytes) {
        t += glove->word(zipf(rng));
        t += (++n % 15 == 0) ? ".\n" : " ";
      }
      return t;
    };
    auto body_of = [](const std::string& t) {
      return nlohmann::json{{"model", "cached"},
                            {"temperature", 0},
                            {"messages", {{{"role", "user"}, {"content", t}}}}}
          .dump();
    };
    // 10,000 entries: 64 are the benchmark's prompts, the rest other (shorter) questions.
    for (int i = 0; i < 10'000; ++i) {
      const std::string t = i < 64 ? text(8000) : text(300);
      const std::string body = body_of(t);
      auto req = api::parse_chat_request(body);
      auto n = cache::normalise(body, *req);
      cache::Entry e{n->exact, n->partition, cache::extract_features(n->last_text), {}, {}};
      glove->embed(req->prompt_text, e.embedding);
      e.answer.content = text(1200);
      e.answer.finish_reason = "stop";
      e.answer.model = "m";
      store->put(std::move(e));
      if (i < 64) {
        bodies.push_back(body);
        reqs.push_back(std::move(*req));
        // The same prompt with a few words swapped for synonyms' stand-ins: a semantic hit.
        std::string near = t;
        near.replace(near.find(' '), 1, "  ");
        const std::string nb = body_of("Please, " + near);
        near_bodies.push_back(nb);
        near_reqs.push_back(*api::parse_chat_request(nb));
      }
    }
  }
};

// This thread's CPU time in µs (CLOCK_THREAD_CPUTIME_ID): what one hit costs, without the waits.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) / 1e3;
}

Fixture& fixture() {
  static Fixture f;
  return f;
}

void lookup(benchmark::State& state, bool semantic) {
  auto& f = fixture();
  std::size_t i = 0, hits = 0;
  std::vector<float> emb;
  std::vector<double> cpu_us;  // each hit's thread CPU time, for the p99 the target is about
  cpu_us.reserve(1 << 16);
  for (auto _ : state) {
    const double t0 = thread_cpu_us();
    const std::size_t k = i++ % f.bodies.size();
    const std::string& body = semantic ? f.near_bodies[k] : f.bodies[k];
    const api::ChatRequest& req = semantic ? f.near_reqs[k] : f.reqs[k];
    auto n = cache::normalise(body, req);
    cache::Query q;
    q.exact = n->exact;
    q.partition = n->partition;
    q.threshold = cache::kDefaultThreshold;
    // As the stage does (pipeline/stages/cache_stage.cc): the exact key first, features and
    // embedding only when it misses.
    auto hit = f.store->find(q);
    if (!hit) {  // features and embedding from one pass (cache/prompt_analysis.h)
      cache::analyse_prompt(req, *f.glove, q.features, &q.embedding);
      hit = f.store->find(q);
    }
    if (hit) {
      ++hits;
      benchmark::DoNotOptimize(cache::completion_body(hit->answer, "chatcmpl-x", 1));
    }
    cpu_us.push_back(thread_cpu_us() - t0);
  }
  state.counters["hit_rate"] = double(hits) / double(std::max<std::size_t>(i, 1));
  if (!cpu_us.empty()) {
    std::sort(cpu_us.begin(), cpu_us.end());
    state.counters["p50_us"] = cpu_us[cpu_us.size() / 2];
    state.counters["p99_us"] = cpu_us[std::min(cpu_us.size() - 1, cpu_us.size() * 99 / 100)];
  }
}

void BM_CacheHitExact(benchmark::State& s) {
  lookup(s, false);
}
void BM_CacheHitSemantic(benchmark::State& s) {
  lookup(s, true);
}
BENCHMARK(BM_CacheHitExact)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CacheHitSemantic)->Unit(benchmark::kMicrosecond);

// Where a semantic hit's time goes: each step of lookup() alone, on the same near-duplicate
// prompts.
enum class Step { kNormalise, kFeatures, kEmbed, kAnalyse, kFind, kBody };
void step(benchmark::State& state, Step which) {
  auto& f = fixture();
  std::size_t i = 0;
  std::vector<cache::Query> queries;
  for (std::size_t k = 0; k < f.near_bodies.size(); ++k) {
    auto n = cache::normalise(f.near_bodies[k], f.near_reqs[k]);
    cache::Query q;
    q.exact = n->exact;
    q.partition = n->partition;
    q.threshold = cache::kDefaultThreshold;
    q.features = cache::extract_features(n->last_text);
    f.glove->embed(f.near_reqs[k].prompt_text, q.embedding);
    queries.push_back(std::move(q));
  }
  auto answer = f.store->find(queries[0]);
  std::vector<float> emb;
  for (auto _ : state) {
    const std::size_t k = i++ % f.near_bodies.size();
    switch (which) {
      case Step::kNormalise:
        benchmark::DoNotOptimize(cache::normalise(f.near_bodies[k], f.near_reqs[k]));
        break;
      case Step::kFeatures:
        benchmark::DoNotOptimize(cache::extract_features(f.near_reqs[k].prompt_text));
        break;
      case Step::kEmbed:
        f.glove->embed(f.near_reqs[k].prompt_text, emb);
        benchmark::DoNotOptimize(emb.data());
        break;
      case Step::kAnalyse: {  // features + embedding in one pass, as a semantic lookup does
        cache::Features features;
        cache::analyse_prompt(f.near_reqs[k], *f.glove, features, &emb);
        benchmark::DoNotOptimize(features);
        benchmark::DoNotOptimize(emb.data());
        break;
      }
      case Step::kFind:
        benchmark::DoNotOptimize(f.store->find(queries[k]));
        break;
      case Step::kBody:
        benchmark::DoNotOptimize(cache::completion_body(answer->answer, "chatcmpl-x", 1));
        break;
    }
  }
}
BENCHMARK_CAPTURE(step, normalise, Step::kNormalise)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(step, features, Step::kFeatures)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(step, embed, Step::kEmbed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(step, analyse, Step::kAnalyse)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(step, find_semantic, Step::kFind)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(step, answer_body, Step::kBody)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
