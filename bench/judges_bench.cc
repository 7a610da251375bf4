// Judge overhead on one core, model calls excluded: each judge (src/judges/) scoring a 2,000-token
// answer (8,000 characters, the gateway's estimate of 4 characters per token) made by
// concatenating RouterBench MBPP test replies, for an MBPP prompt. The agreement judge compares
// three such answers (reported per answer); logprobs gets 2,000 token log-probabilities and 20
// top_logprobs; the verifier is trained at start-up on the MBPP train split (fixed
// hyper-parameters, no cross-validation: the weights' values do not change its cost).
// Run: cmake -DSWITCHBOARD_BENCH=ON ... && build/bench/judges_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>

#include "data/routerbench_csv.h"
#include "judges/verifier/train.h"
#include "policies/route_input.h"
#include "switchboard/judge.h"

using namespace switchboard;

namespace {

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "judges_bench: %s\n", m.c_str());
  std::exit(1);
}

constexpr std::size_t kAnswerChars = 8000;

struct Fixture {
  std::string prompt;
  std::vector<std::string> texts;  // three different 2,000-token answers
  AnswerLogprobs logprobs;
  std::string model_dir;

  Fixture() {
    const std::string dir = SB_SHARED_DATA "/routerbench_zs";
    auto test = data::load_routerbench_dir(dir, data::Split::kTest);
    if (!test) die(test.error().message);
    std::vector<const std::string*> replies;
    for (const auto& r : test->records) {
      if (r.task != "mbpp") continue;
      if (prompt.empty()) prompt = r.user_text();
      for (const auto& [m, o] : r.outcomes)
        if (o.response) replies.push_back(&*o.response);
    }
    if (replies.empty()) die("no MBPP replies in " + dir);
    for (std::size_t k = 0; k < 3; ++k) {
      std::string t;
      for (std::size_t i = k * 101; t.size() < kAnswerChars; ++i)
        t += *replies[i % replies.size()] + "\n";
      t.resize(kAnswerChars);
      texts.push_back(std::move(t));
    }
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> lp(-3.f, 0.f);
    for (int i = 0; i < 2000; ++i) logprobs.tokens.push_back(lp(rng));
    for (int i = 0; i < 20; ++i) logprobs.first_top.push_back(lp(rng) - static_cast<float>(i));

    auto train = data::load_routerbench_dir(dir, data::Split::kTrain);
    if (!train) die(train.error().message);
    data::Outcomes mbpp;
    for (auto& r : train->records)
      if (r.task == "mbpp") mbpp.records.push_back(r);
    judges::verifier::VerifierTrainOptions options;
    options.folds = 2;
    options.l2_grid = {1e-5};
    options.epoch_grid = {2};
    auto trained = judges::verifier::train_verifier(mbpp, {}, options);
    if (!trained) die(trained.error().message);
    model_dir = (std::filesystem::temp_directory_path() / "sb_judges_bench_verifier").string();
    std::filesystem::create_directories(model_dir);
    policies::Manifest manifest;
    if (auto e = trained->model.save(model_dir, manifest)) die(e->message);
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

std::unique_ptr<Judge> build(const std::string& yaml) {
  YAML::Node spec = YAML::Load(yaml);
  const std::string where = "bench:1:1";
  const JudgeFactory* f = JudgeRegistry::instance().find(spec["type"].Scalar());
  if (!f) die("no judge " + spec["type"].Scalar());
  auto j = (*f)(JudgeContext{spec, where});
  if (!j) die(j.error().message);
  return std::move(*j);
}

void run(benchmark::State& state, const Judge& judge, std::vector<JudgeAnswer> answers) {
  const auto& f = fixture();
  for (auto _ : state) {
    Verdict v = judge.judge({f.prompt, answers});
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(answers.size()));
}

JudgeAnswer answer(std::size_t i, bool with_logprobs = false) {
  JudgeAnswer a;
  a.model = "mistralai/mixtral-8x7b-chat";
  a.text = fixture().texts[i];
  if (with_logprobs) a.logprobs = fixture().logprobs;
  a.finish_reason = "stop";
  return a;
}

void BM_Agreement3(benchmark::State& state) {
  static const auto j = build("{type: agreement}");
  run(state, *j, {answer(0), answer(1), answer(2)});
}
void BM_AgreementChoice3(benchmark::State& state) {
  static const auto j = build("{type: agreement, kind: choice}");
  run(state, *j, {answer(0), answer(1), answer(2)});
}
void BM_Rules(benchmark::State& state) {
  static const auto j = build(
      "{type: rules, max_chars: 20000, require: ['def \\w+\\('], reject: ['(?i)lorem ipsum']}");
  run(state, *j, {answer(0)});
}
void BM_Logprobs(benchmark::State& state) {
  static const auto j = build("{type: logprobs, measure: both}");
  run(state, *j, {answer(0, true)});
}
void BM_Verifier(benchmark::State& state) {
  static const auto j = build("{type: verifier, model_dir: '" + fixture().model_dir + "'}");
  run(state, *j, {answer(0)});
}

BENCHMARK(BM_Agreement3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AgreementChoice3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Rules)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Logprobs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verifier)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
