#include "signals/glove.h"

#include <fcntl.h>
#include <immintrin.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "signals/words.h"

namespace switchboard::signals {
namespace {

constexpr char kMagic[8] = {'S', 'B', 'G', 'L', 'O', 'V', 'E', '\0'};
constexpr std::uint32_t kVersion = 2;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint32_t count;
  std::uint32_t stride;
  std::uint64_t table_size;
  std::uint64_t table_off, scales_off, word_offsets_off, words_off, words_size, rows_off;
};

std::size_t align64(std::size_t x) {
  return (x + 63) & ~std::size_t{63};
}

// SIF weight of the word at frequency rank `row` (Zipf: p(rank) = 1 / ((rank + 1) * H_count)).
float sif_weight(std::size_t row, std::size_t count) {
  const double harmonic = std::log(double(count)) + 0.5772156649;
  const double p = 1.0 / ((row + 1) * harmonic);
  return static_cast<float>(1e-3 / (1e-3 + p));
}

// Byte -> its lowercase form if it belongs to a word (signals/words.h), else 0.
constexpr std::array<unsigned char, 256> kWordByte = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c)
    if (is_word_byte(static_cast<unsigned char>(c)))
      t[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return t;
}();

// for_each_word() fused with glove_hash(): calls fn(hash of the lowercase word) for each word.
template <typename Fn>
void for_each_word_hash(std::string_view text, Fn&& fn) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && !kWordByte[p[i]]) ++i;
    std::uint64_t h = 14695981039346656037ull;
    const std::size_t start = i;
    for (unsigned char c; i < n && (c = kWordByte[p[i]]); ++i) {
      h ^= c;
      h *= 1099511628211ull;
    }
    const std::size_t len = i - start;
    if (len && len <= kMaxWordBytes) fn(h);
  }
}

constexpr std::size_t kHugePage = 2 * 1024 * 1024;
constexpr std::size_t kBatch = 32;  // words looked up together (their cache misses overlap)

Error bad_file(const std::string& path, const std::string& why) {
  return make_error(ErrorKind::kInternal, "bad_weights",
                    path + ": " + why + "; rebuild it with `make weights`");
}

}  // namespace

GloveTable::~GloveTable() {
  if (mem_) munmap(mem_, mem_size_);
}

Result<std::unique_ptr<GloveTable>> GloveTable::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorKind::kInternal, "missing_weights",
                      path + ": cannot open (" + std::strerror(errno) +
                          "); install the weights with `make weights`");
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Header))) {
    ::close(fd);
    return bad_file(path, "truncated (no header)");
  }
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  std::unique_ptr<GloveTable> t(new GloveTable());
  t->mem_size_ = (size + kHugePage - 1) / kHugePage * kHugePage;
  void* mem =
      mmap(nullptr, t->mem_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    ::close(fd);
    return bad_file(path, std::string("cannot allocate memory: ") + std::strerror(errno));
  }
  t->mem_ = mem;
  madvise(mem, t->mem_size_, MADV_HUGEPAGE);  // best effort: fewer TLB misses on random lookups
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, static_cast<char*>(mem) + done, size - done, static_cast<off_t>(done));
    if (n <= 0) {
      ::close(fd);
      return bad_file(
          path, std::string("read failed: ") + (n < 0 ? std::strerror(errno) : "unexpected end"));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  Header h;
  std::memcpy(&h, mem, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) return bad_file(path, "not a Switchboard GloVe file");
  if (h.version != kVersion)
    return bad_file(path, "format version " + std::to_string(h.version) + " (this build reads " +
                              std::to_string(kVersion) + ")");
  auto fits = [&](std::uint64_t off, std::uint64_t bytes) {
    return off <= size && bytes <= size - off;
  };
  if (h.dim == 0 || h.dim > 1024 || h.stride < h.dim || h.stride % 64 || h.count == 0 ||
      h.table_size < h.count || (h.table_size & (h.table_size - 1)) ||
      !fits(h.table_off, h.table_size * 8) || !fits(h.scales_off, std::uint64_t{h.count} * 4) ||
      !fits(h.word_offsets_off, (std::uint64_t{h.count} + 1) * 4) ||
      !fits(h.words_off, h.words_size) || !fits(h.rows_off, std::uint64_t{h.count} * h.stride))
    return bad_file(path, "sections do not fit the file (truncated?)");
  const char* base = static_cast<const char*>(mem);
  t->dim_ = h.dim;
  t->stride_ = h.stride;
  t->count_ = h.count;
  t->table_mask_ = h.table_size - 1;
  t->table_ = reinterpret_cast<const std::uint64_t*>(base + h.table_off);
  t->scales_ = reinterpret_cast<const float*>(base + h.scales_off);
  t->word_offsets_ = reinterpret_cast<const std::uint32_t*>(base + h.word_offsets_off);
  t->words_ = base + h.words_off;
  t->rows_ = reinterpret_cast<const std::int8_t*>(base + h.rows_off);
  if (t->word_offsets_[h.count] != h.words_size)
    return bad_file(path, "vocabulary section is inconsistent");
  for (std::uint64_t i = 0; i < h.table_size; ++i) {
    const std::uint64_t row = t->table_[i] & 0xffffffffu;
    if (row > h.count) return bad_file(path, "hash table points past the vocabulary");
  }
  return t;
}

std::int64_t GloveTable::probe(std::uint64_t h) const {
  const std::uint64_t tag = h >> 32;
  for (std::size_t i = h & table_mask_;; i = (i + 1) & table_mask_) {
    const std::uint64_t e = table_[i];
    if (e == 0) return -1;
    if ((e >> 32) == tag) return static_cast<std::int64_t>(e & 0xffffffffu) - 1;
  }
}

std::int64_t GloveTable::find(std::string_view w) const {
  return probe(glove_hash(w));
}

std::string_view GloveTable::word(std::size_t row) const {
  return {words_ + word_offsets_[row], word_offsets_[row + 1] - word_offsets_[row]};
}

float GloveTable::weight(std::size_t row) const {
  return sif_weight(row, count_);
}

std::vector<float> GloveTable::vector(std::size_t row) const {
  std::vector<float> v(dim_);
  const float scale = scales_[row] / weight(row);
  for (std::size_t k = 0; k < dim_; ++k) v[k] = rows_[row * stride_ + k] * scale;
  return v;
}

namespace {

// acc[0, 16 * blocks) += scales[row] * rows[row] for each found row (row >= 0), in order. Rows are
// zero-padded to the stride (a multiple of 64), so the last block may read padding. Both versions
// do the same float operations in the same order per element (convert, multiply, add; no fused
// multiply-add), so they give the same sum bit for bit. GCC's vectoriser leaves the plain loop
// scalar at -O2 and turns a vector-extension conversion into scalar shuffles, hence intrinsics.
void add_rows_scalar(const std::int8_t* base, std::size_t stride, std::size_t blocks,
                     const float* scales, const std::int64_t* rows, std::size_t n, float* acc,
                     std::size_t& found) {
  for (std::size_t j = 0; j < n; ++j) {
    if (rows[j] < 0) continue;
    ++found;
    const float scale = scales[rows[j]];
    const std::int8_t* r = base + static_cast<std::size_t>(rows[j]) * stride;
    for (std::size_t k = 0; k < 16 * blocks; ++k) acc[k] += scale * static_cast<float>(r[k]);
  }
}

__attribute__((target("avx2"))) void add_rows_avx2(const std::int8_t* base, std::size_t stride,
                                                   std::size_t blocks, const float* scales,
                                                   const std::int64_t* rows, std::size_t n,
                                                   float* acc, std::size_t& found) {
  for (std::size_t j = 0; j < n; ++j) {
    if (rows[j] < 0) continue;
    ++found;
    const __m256 scale = _mm256_set1_ps(scales[rows[j]]);
    const std::int8_t* r = base + static_cast<std::size_t>(rows[j]) * stride;
    for (std::size_t k = 0; k < 16 * blocks; k += 8) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r + k));
      const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
      _mm256_storeu_ps(acc + k, _mm256_add_ps(_mm256_loadu_ps(acc + k), _mm256_mul_ps(scale, v)));
    }
  }
}

const bool kHasAvx2 = __builtin_cpu_supports("avx2");

}  // namespace

// Looks up n words by hash and adds their weighted rows to acc[0, stride): first prefetch every
// table slot, then resolve the rows and prefetch them, then add — so the misses overlap.
void GloveTable::accumulate(const std::uint64_t* hashes, std::size_t n, float* acc,
                            std::size_t& found) const {
  std::int64_t rows[kBatch];
  for (std::size_t j = 0; j < n; ++j) __builtin_prefetch(&table_[hashes[j] & table_mask_]);
  for (std::size_t j = 0; j < n; ++j) {
    rows[j] = probe(hashes[j]);
    if (rows[j] >= 0) {
      const std::int8_t* r = rows_ + static_cast<std::size_t>(rows[j]) * stride_;
      for (std::size_t off = 0; off < stride_; off += 64) __builtin_prefetch(r + off);
      __builtin_prefetch(&scales_[rows[j]]);
    }
  }
  if (kHasAvx2) {
    add_rows_avx2(rows_, stride_, (dim_ + 15) / 16, scales_, rows, n, acc, found);
  } else {
    add_rows_scalar(rows_, stride_, (dim_ + 15) / 16, scales_, rows, n, acc, found);
  }
}

namespace {

// Calls fn(hash) for each word embed() reads from `text` (its head and tail when it is long).
template <typename Fn>
void for_each_embedded_hash(std::string_view text, Fn&& fn) {
  if (text.size() <= kEmbedHeadBytes + kEmbedTailBytes) {
    for_each_word_hash(text, fn);
    return;
  }
  // Cut both parts at a non-word byte so that no word is split in two.
  std::size_t head_end = kEmbedHeadBytes;
  while (head_end < text.size() && is_word_byte(static_cast<unsigned char>(text[head_end])))
    ++head_end;
  std::size_t tail_begin = text.size() - kEmbedTailBytes;
  while (tail_begin < text.size() && is_word_byte(static_cast<unsigned char>(text[tail_begin])))
    ++tail_begin;
  for_each_word_hash(text.substr(0, head_end), fn);
  if (tail_begin > head_end) for_each_word_hash(text.substr(tail_begin), fn);
}

}  // namespace

std::size_t GloveTable::embed(std::string_view text, std::vector<float>& out) const {
  alignas(64) float acc[1024];  // stride_ <= 1024 (checked at open)
  std::fill(acc, acc + stride_, 0.0f);
  std::uint64_t hashes[kBatch];
  std::size_t pending = 0, found = 0;
  for_each_embedded_hash(text, [&](std::uint64_t hash) {
    hashes[pending++] = hash;
    if (pending == kBatch) {
      accumulate(hashes, pending, acc, found);
      pending = 0;
    }
  });
  accumulate(hashes, pending, acc, found);
  return finish(acc, found, out);
}

std::size_t GloveTable::embed_hashes(std::span<const std::uint64_t> hashes,
                                     std::vector<float>& out) const {
  alignas(64) float acc[1024];
  std::fill(acc, acc + stride_, 0.0f);
  std::size_t found = 0;
  for (std::size_t i = 0; i < hashes.size(); i += kBatch)
    accumulate(hashes.data() + i, std::min(kBatch, hashes.size() - i), acc, found);
  return finish(acc, found, out);
}

void GloveTable::word_hashes(std::string_view text, std::vector<std::uint64_t>& out) {
  for_each_embedded_hash(text, [&out](std::uint64_t hash) { out.push_back(hash); });
}

std::size_t GloveTable::finish(const float* acc, std::size_t found, std::vector<float>& out) const {
  double norm = 0;
  for (std::size_t k = 0; k < dim_; ++k) norm += double(acc[k]) * acc[k];
  if (found == 0 || norm <= 0) {
    out.clear();
    return 0;
  }
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  out.resize(dim_);
  for (std::size_t k = 0; k < dim_; ++k) out[k] = acc[k] * inv;
  return found;
}

Result<std::size_t> convert_glove_json(const std::string& json_path, const std::string& out_path) {
  using namespace simdjson;
  auto fail = [&](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_glove_json", json_path + ": " + why);
  };
  padded_string json;
  if (auto err = padded_string::load(json_path).get(json))
    return fail(std::string("cannot read: ") + error_message(err));
  ondemand::parser parser;
  ondemand::document doc;
  if (parser.iterate(json).get(doc)) return fail("not JSON");
  ondemand::object root;
  if (doc.get_object().get(root)) return fail("not a JSON object");

  std::size_t dim = 0, count = 0;
  std::vector<std::string> words;
  std::vector<float> vectors;        // count x dim, row = the word's frequency rank
  std::vector<std::uint8_t> filled;  // rows seen
  try {
    for (auto field : root) {
      std::string_view key = field.unescaped_key().value();
      if (key == "dimensions") {
        dim = static_cast<std::size_t>(field.value().get_uint64().value());
      } else if (key == "size") {
        count = static_cast<std::size_t>(field.value().get_uint64().value());
      } else if (key == "words") {
        for (auto w : field.value().get_array())
          words.emplace_back(std::string_view(w.get_string().value()));
      } else if (key == "vectors") {
        if (dim == 0 || count == 0 || dim > 1024)
          return fail("'dimensions' and 'size' must come before 'vectors'");
        // Every word's vector takes dim + 2 numbers of at least 2 bytes each: a `size` the file
        // cannot hold would only allocate (1e11 words aborted on an 80-byte file).
        if (count > json.size() / (2 * (dim + 2)))
          return fail("'size' says " + std::to_string(count) + " words of " +
                      std::to_string(dim) + " dimensions: more than the file holds");
        vectors.assign(count * dim, 0.0f);
        filled.assign(count, 0);
        std::vector<double> row(dim + 2);
        for (auto entry : field.value().get_object()) {
          std::string_view word = entry.unescaped_key().value();
          std::size_t n = 0;
          for (auto x : entry.value().get_array()) {
            if (n == dim + 2)
              return fail("vector of '" + std::string(word) + "' is longer than dim + 2");
            row[n++] = x.get_double().value();
          }
          if (n != dim + 2)
            return fail("vector of '" + std::string(word) + "' has " + std::to_string(n) +
                        " numbers");
          const auto index = static_cast<std::size_t>(row[dim + 1]);
          if (index >= count || filled[index])
            return fail("bad or repeated index for '" + std::string(word) + "'");
          double norm = 0;
          for (std::size_t k = 0; k < dim; ++k) norm += row[k] * row[k];
          norm = std::sqrt(norm);
          if (norm > 0)
            for (std::size_t k = 0; k < dim; ++k)
              vectors[index * dim + k] = static_cast<float>(row[k] / norm);
          filled[index] = 1;
        }
      }
    }
  } catch (const simdjson_error& e) {
    return fail(std::string("malformed: ") + e.what());
  }
  if (dim == 0 || count == 0) return fail("missing 'dimensions' or 'size'");
  if (words.size() != count)
    return fail("'words' has " + std::to_string(words.size()) + " entries, 'size' says " +
                std::to_string(count));
  for (std::size_t i = 0; i < count; ++i)
    if (!filled[i]) return fail("no vector for word #" + std::to_string(i) + " '" + words[i] + "'");

  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.dim = static_cast<std::uint32_t>(dim);
  h.count = static_cast<std::uint32_t>(count);
  h.table_size = 1;
  while (h.table_size < 2 * count) h.table_size <<= 1;
  std::vector<std::uint64_t> table(h.table_size, 0);
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint64_t hash = glove_hash(words[r]);
    std::size_t i = hash & (h.table_size - 1);
    bool dup = false;
    while (table[i] != 0) {
      if ((table[i] >> 32) == (hash >> 32))
        dup = true;  // same key (or a 52-bit collision): keep the first
      i = (i + 1) & (h.table_size - 1);
    }
    if (!dup) table[i] = ((hash >> 32) << 32) | (r + 1);
  }
  const std::size_t stride = (dim + 63) / 64 * 64;
  std::vector<float> scales(count);
  std::vector<std::int8_t> rows(count * stride, 0);
  for (std::size_t r = 0; r < count; ++r) {
    const float* v = &vectors[r * dim];
    float max_abs = 0;
    for (std::size_t k = 0; k < dim; ++k) max_abs = std::max(max_abs, std::fabs(v[k]));
    const float q = max_abs > 0 ? 127.0f / max_abs : 0.0f;
    for (std::size_t k = 0; k < dim; ++k)
      rows[r * stride + k] = static_cast<std::int8_t>(std::lround(v[k] * q));
    scales[r] = max_abs > 0 ? (max_abs / 127.0f) * sif_weight(r, count) : 0.0f;
  }
  std::vector<std::uint32_t> offsets(count + 1, 0);
  std::string blob;
  for (std::size_t r = 0; r < count; ++r) {
    offsets[r] = static_cast<std::uint32_t>(blob.size());
    blob += words[r];
  }
  offsets[count] = static_cast<std::uint32_t>(blob.size());
  h.stride = static_cast<std::uint32_t>(stride);
  h.table_off = align64(sizeof(Header));
  h.scales_off = align64(h.table_off + table.size() * 8);
  h.word_offsets_off = align64(h.scales_off + scales.size() * 4);
  h.words_off = align64(h.word_offsets_off + offsets.size() * 4);
  h.words_size = blob.size();
  h.rows_off = align64(h.words_off + blob.size());

  const std::string tmp = out_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return make_error(ErrorKind::kInternal, "write_failed", tmp + ": cannot write");
    auto pad_to = [&](std::uint64_t off) {
      static const char zeros[64] = {};
      const auto pos = static_cast<std::uint64_t>(out.tellp());
      out.write(zeros, static_cast<std::streamsize>(off - pos));
    };
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    pad_to(h.table_off);
    out.write(reinterpret_cast<const char*>(table.data()), table.size() * 8);
    pad_to(h.scales_off);
    out.write(reinterpret_cast<const char*>(scales.data()), scales.size() * 4);
    pad_to(h.word_offsets_off);
    out.write(reinterpret_cast<const char*>(offsets.data()), offsets.size() * 4);
    pad_to(h.words_off);
    out.write(blob.data(), blob.size());
    pad_to(h.rows_off);
    out.write(reinterpret_cast<const char*>(rows.data()), rows.size());
    if (!out.flush())
      return make_error(ErrorKind::kInternal, "write_failed", tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0)
    return make_error(ErrorKind::kInternal, "write_failed", out_path + ": cannot rename " + tmp);
  return count;
}

}  // namespace switchboard::signals
