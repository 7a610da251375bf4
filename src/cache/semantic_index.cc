#include "cache/semantic_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>

namespace switchboard::cache {

namespace {
constexpr std::size_t kM = 16, kEfConstruction = 100, kEfSearch = 32;
}

SemanticIndex::SemanticIndex(std::size_t dim) : dim_(dim) {
  space_ = std::make_unique<hnswlib::InnerProductSpace>(dim_);
  rebuild(kRebuildMin);
}

SemanticIndex::~SemanticIndex() = default;

void SemanticIndex::rebuild(std::size_t capacity) {
  capacity_ = std::max(capacity, kRebuildMin);
  hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), capacity_, kM,
                                                            kEfConstruction, 42);
  hnsw_->setEf(kEfSearch);
  used_ = 0;
  for (const auto& [label, meta] : live_) {
    hnsw_->addPoint(meta.embedding.data(), label);
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
      hnsw_->resizeIndex(capacity_);
    }
  }
  live_.emplace(label, Meta{partition, std::move(features), embedding});
  hnsw_->addPoint(embedding.data(), label);
  ++used_;
}

void SemanticIndex::clear() {
  live_.clear();
  rebuild(kRebuildMin);
}

void SemanticIndex::remove(std::uint64_t label) {
  if (live_.erase(label) == 0) return;
  hnsw_->markDelete(label);
}

std::vector<SemanticIndex::Candidate> SemanticIndex::search(const std::vector<float>& embedding,
                                                            std::uint64_t partition,
                                                            const Features& features,
                                                            float threshold, std::size_t k) const {
  std::vector<Candidate> out;
  if (live_.empty() || embedding.size() != dim_) return out;
  auto found = hnsw_->searchKnn(embedding.data(), std::min(k, live_.size()));
  // The queue pops the farthest first.
  while (!found.empty()) {
    const auto [distance, label] = found.top();
    found.pop();
    const float sim = 1.0f - distance;
    if (sim < threshold) continue;
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
