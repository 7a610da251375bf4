#include "cache/semantic_index.h"

#include <cmath>

// Debian's hnswlib 0.6.2 defines non-inline functions and globals in its headers, so a second
// translation unit including it (policies/knn already does) breaks the link. Everything it
// includes is included first; then the library is wrapped in an anonymous namespace (internal
// linkage) for this file.
#include <assert.h>
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {
#include <hnswlib/hnswlib.h>
}  // namespace

namespace switchboard::cache {

namespace {
constexpr std::size_t kM = 16, kEfConstruction = 100, kEfSearch = 32;
}

bool unit_embedding(const std::vector<float>& embedding) {
  double norm = 0;
  for (float x : embedding) {
    if (!std::isfinite(x)) return false;
    norm += static_cast<double>(x) * x;
  }
  return std::abs(std::sqrt(norm) - 1.0) < 1e-3;
}

struct SemanticIndex::Hnsw {
  explicit Hnsw(std::size_t dim) : space(dim) {}
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index;
};

SemanticIndex::SemanticIndex(std::size_t dim) : dim_(dim) {
  hnsw_ = std::make_unique<Hnsw>(dim_);
  rebuild(kRebuildMin);
}

SemanticIndex::~SemanticIndex() = default;

void SemanticIndex::rebuild(std::size_t capacity) {
  capacity_ = std::max(capacity, kRebuildMin);
  hnsw_->index = std::make_unique<hnswlib::HierarchicalNSW<float>>(&hnsw_->space, capacity_, kM,
                                                                   kEfConstruction, 42);
  hnsw_->index->setEf(kEfSearch);
  used_ = 0;
  for (const auto& [label, meta] : live_) {
    hnsw_->index->addPoint(meta.embedding.data(), label);
    ++used_;
  }
}

void SemanticIndex::add(std::uint64_t label, std::uint64_t partition, Features features,
                        const std::vector<float>& embedding) {
  if (embedding.size() != dim_) return;
  if (live_.count(label)) remove(label);
  if (used_ >= capacity_) {
    // Deleted points outnumber live ones: rebuild without them; else grow.
    if (used_ - live_.size() > live_.size())
      rebuild(std::max(capacity_, 2 * (live_.size() + 1)));
    else {
      capacity_ *= 2;
      hnsw_->index->resizeIndex(capacity_);
    }
  }
  live_.emplace(label, Meta{partition, std::move(features), embedding});
  hnsw_->index->addPoint(embedding.data(), label);
  ++used_;
}

void SemanticIndex::clear() {
  live_.clear();
  rebuild(kRebuildMin);
}

void SemanticIndex::remove(std::uint64_t label) {
  if (live_.erase(label) == 0) return;
  hnsw_->index->markDelete(label);
}

std::vector<SemanticIndex::Candidate> SemanticIndex::search(const std::vector<float>& embedding,
                                                            std::uint64_t partition,
                                                            const Features& features,
                                                            float threshold, std::size_t k) const {
  std::vector<Candidate> out;
  if (live_.empty() || embedding.size() != dim_) return out;
  auto found = hnsw_->index->searchKnn(embedding.data(), std::min(k, live_.size()));
  // The queue pops the farthest first.
  while (!found.empty()) {
    const auto [distance, label] = found.top();
    found.pop();
    const float sim = 1.0f - distance;
    if (!(sim >= threshold)) continue;  // (NaN too)
    auto it = live_.find(label);
    if (it == live_.end() || it->second.partition != partition) continue;
    if (!compatible(features, it->second.features)) continue;
    out.push_back({label, sim});
  }
  std::sort(out.begin(), out.end(),
            [](const Candidate& a, const Candidate& b) { return a.similarity > b.similarity; });
  return out;
}

}  // namespace switchboard::cache
