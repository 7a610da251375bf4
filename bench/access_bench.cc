// The auth and limits stages' own work per request (docs/keys.md): hashing the presented secret and
// finding it among 1,000 keys, then checking and counting a key with every limit (rpm, tpm, daily
// and monthly budgets) and settling it after the answer. No SQLite or Redis on this path.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "access/key_store.h"
#include "access/service.h"

namespace {
using namespace switchboard::access;

struct Fixture {
  std::shared_ptr<AccessService> service;
  std::string secret;
  Fixture() {
    const auto path = std::filesystem::temp_directory_path() /
                      ("sb_access_bench_" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    auto store = KeyStore::open(path.string()).value().release();
    for (int i = 0; i < 1000; ++i) {
      KeySpec spec;
      spec.name = "key" + std::to_string(i);
      spec.team = "team" + std::to_string(i % 10);
      spec.limits = {1'000'000'000, 1'000'000'000'000, 1e9, 1e9};
      auto created = store->create(spec).value();
      if (i == 500) secret = created.secret;
    }
    delete store;
    AccessSettings s;
    s.configured = true;
    s.keys_db = path.string();
    s.meter = false;
    service = AccessService::acquire(s).value();
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void BM_FindKey(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.service->find(f.secret));
}
BENCHMARK(BM_FindKey);

void BM_AdmitAndSettle(benchmark::State& state) {
  auto& f = fixture();
  auto key = f.service->find(f.secret);
  for (auto _ : state) {
    auto a = f.service->limiter().admit(key->key, 500, now_ms());
    f.service->limiter().settle(key->key, a, 700, 0.001, now_ms());
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_AdmitAndSettle);

}  // namespace

BENCHMARK_MAIN();
