// The guard's cost on one 2,000-token prompt (8,000 characters) on one core: the PII scan with
// every detector, the scan plus redaction of the request body, the jailbreak classifier, the
// out-of-domain distance to a 2,000-example domain, and all three checks together (what the guard
// stage does for a route with pii + jailbreak + domain when nothing needs redacting). Prompts are
// 64 texts of GloVe-vocabulary words with Zipf frequencies, each with an e-mail address and a
// phone number in it, cycled. Needs the weights (`make weights`).
// Run: cmake -DSWITCHBOARD_BENCH=ON ... && build/bench/guard_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "guard/domain.h"
#include "guard/jailbreak.h"
#include "guard/pii.h"
#include "guard/redact.h"

using namespace switchboard;

namespace {

struct Fixture {
  std::vector<std::string> prompts, bodies;
  std::shared_ptr<const guard::JailbreakModel> jailbreak;
  std::shared_ptr<const guard::DomainModel> domain;

  static std::string zipf_text(const signals::GloveTable& g, std::mt19937_64& rng,
                               std::discrete_distribution<std::size_t>& zipf, std::size_t chars) {
    std::string text;
    int in_sentence = 0;
    while (text.size() < chars) {
      text += g.word(zipf(rng));
      if (++in_sentence == 14) {
        text += ". ";
        in_sentence = 0;
      } else {
        text += ' ';
      }
    }
    return text;
  }

  Fixture() {
    auto glove = guard::shared_glove("");
    if (!glove) {
      std::fprintf(stderr, "guard_bench: %s\n", glove.error().message.c_str());
      std::exit(1);
    }
    const auto& g = **glove;
    std::mt19937_64 rng(42);
    std::vector<double> w(50000);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 1.0 / double(i + 1);
    std::discrete_distribution<std::size_t> zipf(w.begin(), w.end());
    for (int p = 0; p < 64; ++p) {
      std::string text = zipf_text(g, rng, zipf, 4000);
      text += " write to jane.doe@example.com or call +1 (415) 555-2671 about it. ";
      text += zipf_text(g, rng, zipf, 8000 - text.size());
      prompts.push_back(text);
      nlohmann::json body = {{"model", "guarded"},
                             {"messages", {{{"role", "user"}, {"content", text}}}}};
      bodies.push_back(body.dump());
    }
    std::vector<std::string> examples;
    for (int i = 0; i < 2000; ++i) examples.push_back(zipf_text(g, rng, zipf, 300));
    auto d = guard::DomainModel::build(*glove, examples, {});
    auto labelled =
        guard::read_labelled_jsonl(std::string(SB_SOURCE_DIR) + "/tests/data/guard/train.jsonl");
    if (!d || !labelled) {
      std::fprintf(stderr, "guard_bench: cannot build the domain or read the labelled set\n");
      std::exit(1);
    }
    domain = *d;
    auto m = guard::train_jailbreak(*labelled, {});
    if (!m) std::exit(1);
    jailbreak = *m;
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_GuardPiiScan(benchmark::State& state) {
  auto& f = fixture();
  const auto& scanner = guard::PiiScanner::instance();
  std::size_t i = 0, found = 0;
  for (auto _ : state) {
    auto m = scanner.scan(f.prompts[i++ % f.prompts.size()]);
    found += m.size();
    benchmark::DoNotOptimize(m);
  }
  state.counters["found_per_prompt"] = double(found) / double(state.iterations());
}
BENCHMARK(BM_GuardPiiScan);

void BM_GuardPiiRedactBody(benchmark::State& state) {
  auto& f = fixture();
  std::size_t i = 0;
  for (auto _ : state) {
    guard::Redaction r;
    auto out = guard::redact_chat_body(f.bodies[i++ % f.bodies.size()], ~0ull, r);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_GuardPiiRedactBody);

void BM_GuardJailbreak(benchmark::State& state) {
  auto& f = fixture();
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(f.jailbreak->score(f.prompts[i++ % f.prompts.size()]));
}
BENCHMARK(BM_GuardJailbreak);

void BM_GuardDomain(benchmark::State& state) {
  auto& f = fixture();
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(f.domain->distance(f.prompts[i++ % f.prompts.size()]));
}
BENCHMARK(BM_GuardDomain);

void BM_GuardAllChecks(benchmark::State& state) {
  auto& f = fixture();
  const auto& scanner = guard::PiiScanner::instance();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& p = f.prompts[i++ % f.prompts.size()];
    auto m = scanner.scan(p);
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(f.jailbreak->score(p));
    benchmark::DoNotOptimize(f.domain->distance(p));
  }
}
BENCHMARK(BM_GuardAllChecks);

}  // namespace

BENCHMARK_MAIN();
