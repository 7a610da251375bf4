// Small hashing and randomness helpers for the pool: a 64-bit bit mixer (the SplitMix64 finaliser,
// Steele, Lea and Flood, OOPSLA 2014) and a counter-based random stream that is lock-free,
// thread-safe and reproducible from a seed (the simulator is single-threaded, so its runs repeat).
#pragma once

#include <atomic>
#include <cstdint>

namespace switchboard::pool {

constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class CounterRandom {
 public:
  explicit CounterRandom(std::uint64_t seed = 0) : seed_(mix64(seed)) {}
  std::uint64_t next() { return mix64(seed_ ^ counter_.fetch_add(1, std::memory_order_relaxed)); }
  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for small n).
  std::size_t below(std::size_t n) {
    return static_cast<std::size_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  std::uint64_t seed_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace switchboard::pool
