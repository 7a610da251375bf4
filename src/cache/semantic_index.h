// The semantic side of a cache: entries' embeddings in an hnswlib inner-product index (cosine on
// unit vectors), with what a match must share besides similarity (partition, guard features).
//
// Labels are the caller's (unique per index). Removal marks the point deleted in hnswlib; when the
// deleted points outnumber the live ones (and at least kRebuildMin), the index is rebuilt from the
// live vectors, so the index never holds more than about twice the live entries. Not thread-safe:
// the owner locks (MemoryStore) or confines it to one thread (RedisStore).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cache/features.h"

namespace switchboard::cache {

// True when every value is finite and the vector's length is 1 (within 1e-3): what the index's
// inner product needs to be a cosine. An embedding read from a shared store is checked with it.
bool unit_embedding(const std::vector<float>& embedding);

class SemanticIndex {
 public:
  static constexpr std::size_t kRebuildMin = 1024;
  explicit SemanticIndex(std::size_t dim);
  ~SemanticIndex();

  std::size_t dim() const { return dim_; }
  std::size_t size() const { return live_.size(); }
  // `embedding` must have dim() floats (unit_embedding() for one from outside).
  void add(std::uint64_t label, std::uint64_t partition, Features features,
           const std::vector<float>& embedding);
  void remove(std::uint64_t label);
  void clear();
  bool contains(std::uint64_t label) const { return live_.count(label) > 0; }

  struct Candidate {
    std::uint64_t label;
    float similarity;
  };
  // Live entries with cosine ≥ threshold, the same partition and compatible features, most similar
  // first (at most k looked at).
  std::vector<Candidate> search(const std::vector<float>& embedding, std::uint64_t partition,
                                const Features& features, float threshold,
                                std::size_t k = 16) const;

 private:
  struct Meta {
    std::uint64_t partition;
    Features features;
    std::vector<float> embedding;  // kept for rebuilds
  };
  void rebuild(std::size_t capacity);
  std::size_t dim_;
  struct Hnsw;  // hnswlib's space and index (semantic_index.cc)
  std::unique_ptr<Hnsw> hnsw_;
  std::size_t capacity_ = 0, used_ = 0;  // hnswlib slots: allocated, taken (live + deleted)
  std::unordered_map<std::uint64_t, Meta> live_;
};

}  // namespace switchboard::cache
