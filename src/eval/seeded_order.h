// A seeded permutation of 0..n-1 (Fisher–Yates on mt19937_64: the same on every platform), the
// order in which the online and session replays stream their prompts.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace switchboard::eval {

inline std::vector<std::size_t> seeded_order(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

}  // namespace switchboard::eval
