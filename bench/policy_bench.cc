// Decision latency of the learned policies (knn, classifier, mf) for a 2,000-token prompt on one
// core, signals included: what the gateway does per request for such a route — the signals the
// route's policy needs (Runtime::signals_for → Extractor::extract), then Runtime::decide
// (predictions for 11 models + the objective). The policies are trained at start-up on the
// RouterBench train split (../shared/data/routerbench_zs, imported into a temporary directory)
// with the real signal weights (`make weights`). Prompts: 64 texts of 8,000 characters (the
// gateway's estimate of 4 characters per token) made by concatenating RouterBench test prompts.
// Each benchmark also reports p50 and p99 of single decisions (steady_clock around each).
// Run: cmake -DSWITCHBOARD_BENCH=ON ... && build/bench/policy_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "config/config.h"
#include "data/outcomes.h"
#include "eval/import.h"
#include "pipeline/runtime.h"
#include "policies/trainer.h"

using namespace switchboard;

namespace {

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "policy_bench: %s\n", m.c_str());
  std::exit(1);
}

struct Fixture {
  std::vector<api::ChatRequest> requests;
  std::unique_ptr<pipeline::Runtime> runtime;

  Fixture() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / "sb_policy_bench";
    fs::create_directories(dir);
    if (auto r = eval::import_routerbench(SB_SHARED_DATA "/routerbench_zs", dir.string()); !r)
      die(r.error().message);
    auto train = data::read_outcomes_jsonl((dir / "train.jsonl").string());
    auto test = data::read_outcomes_jsonl((dir / "test.jsonl").string());
    if (!train || !test) die("cannot read the imported RouterBench data");
    auto cfg = std::make_shared<config::Config>();
    cfg->source = "bench";
    for (const auto& m : train->models()) {
      config::ModelConfig mc;
      mc.name = m;
      cfg->models.push_back(mc);
    }
    for (const std::string policy : {"knn", "classifier", "mf"}) {
      const std::string out = (dir / policy).string();
      fs::create_directories(out);
      YAML::Node base;
      base["type"] = policy;
      policies::TrainContext ctx{*train, train->models(), base, out, 1, {}, {}, {}};
      auto trained = (*policies::TrainerRegistry::instance().find(policy))(ctx);
      if (!trained) die(trained.error().message);
      config::RouteConfig rc;
      rc.name = policy;
      rc.policy_type = policy;
      rc.policy = trained->spec;
      rc.where = "bench";
      cfg->routes.push_back(rc);
    }
    auto rt = pipeline::build_runtime(cfg);
    if (!rt) die(rt.error().message);
    runtime = std::move(*rt);
    std::size_t next = 0;
    for (int p = 0; p < 64; ++p) {
      std::string text;
      while (text.size() < 8000)
        text += test->records[next++ % test->records.size()].user_text() + "\n";
      text.resize(8000);
      api::ChatRequest req;
      req.prompt_text = std::move(text);
      req.message_count = 1;
      req.estimated_prompt_tokens = 2000;
      requests.push_back(std::move(req));
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void run(benchmark::State& state, const std::string& route) {
  auto& f = fixture();
  for (auto& r : f.requests) r.model = route;
  std::vector<double> us;
  us.reserve(1 << 20);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const api::ChatRequest& req = f.requests[i++ & 63];
    Signals s = f.runtime->signals_for(req);
    RouteRequest rr = pipeline::route_request(req, 20.0);
    auto d = f.runtime->decide(route, rr, s);
    benchmark::DoNotOptimize(d);
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

void BM_Knn(benchmark::State& state) {
  run(state, "knn");
}
void BM_Classifier(benchmark::State& state) {
  run(state, "classifier");
}
void BM_Mf(benchmark::State& state) {
  run(state, "mf");
}

}  // namespace

BENCHMARK(BM_Knn)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Classifier)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mf)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
