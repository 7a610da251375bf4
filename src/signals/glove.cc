#include "signals/glove.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "signals/words.h"

namespace switchboard::signals {
namespace {

constexpr char kMagic[8] = {'S', 'B', 'G', 'L', 'O', 'V', 'E', '\0'};
constexpr std::uint32_t kVersion = 1;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint32_t count;
  std::uint32_t reserved;
  std::uint64_t table_size;
  std::uint64_t table_off, weights_off, word_offsets_off, words_off, words_size, vectors_off;
};

std::size_t align64(std::size_t x) { return (x + 63) & ~std::size_t{63}; }

Error bad_file(const std::string& path, const std::string& why) {
  return make_error(ErrorKind::kInternal, "bad_weights",
                    path + ": " + why + "; rebuild it with `make weights`");
}

}  // namespace

GloveTable::~GloveTable() {
  if (map_) munmap(map_, map_size_);
}

Result<std::unique_ptr<GloveTable>> GloveTable::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorKind::kInternal, "missing_weights",
                      path + ": cannot open (" + std::strerror(errno) + "); install the weights with `make weights`");
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Header))) {
    ::close(fd);
    return bad_file(path, "truncated (no header)");
  }
  void* map = mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return bad_file(path, std::string("cannot map: ") + std::strerror(errno));
  std::unique_ptr<GloveTable> t(new GloveTable());
  t->map_ = map;
  t->map_size_ = st.st_size;
  Header h;
  std::memcpy(&h, map, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) return bad_file(path, "not a Switchboard GloVe file");
  if (h.version != kVersion) return bad_file(path, "format version " + std::to_string(h.version) + " (expected 1)");
  const std::size_t size = st.st_size;
  auto fits = [&](std::uint64_t off, std::uint64_t bytes) { return off <= size && bytes <= size - off; };
  if (h.dim == 0 || h.count == 0 || h.table_size < h.count || (h.table_size & (h.table_size - 1)) ||
      !fits(h.table_off, h.table_size * 8) || !fits(h.weights_off, std::uint64_t{h.count} * 4) ||
      !fits(h.word_offsets_off, (std::uint64_t{h.count} + 1) * 4) || !fits(h.words_off, h.words_size) ||
      !fits(h.vectors_off, std::uint64_t{h.count} * h.dim * 4))
    return bad_file(path, "sections do not fit the file (truncated?)");
  const char* base = static_cast<const char*>(map);
  t->dim_ = h.dim;
  t->count_ = h.count;
  t->table_mask_ = h.table_size - 1;
  t->table_ = reinterpret_cast<const std::uint64_t*>(base + h.table_off);
  t->weights_ = reinterpret_cast<const float*>(base + h.weights_off);
  t->word_offsets_ = reinterpret_cast<const std::uint32_t*>(base + h.word_offsets_off);
  t->words_ = base + h.words_off;
  t->vectors_ = reinterpret_cast<const float*>(base + h.vectors_off);
  if (t->word_offsets_[h.count] != h.words_size) return bad_file(path, "vocabulary section is inconsistent");
  return t;
}

std::int64_t GloveTable::find(std::string_view w) const {
  const std::uint64_t h = glove_hash(w);
  const std::uint64_t tag = h >> 32;
  for (std::size_t i = h & table_mask_;; i = (i + 1) & table_mask_) {
    const std::uint64_t e = table_[i];
    if (e == 0) return -1;
    if ((e >> 32) == tag) return static_cast<std::int64_t>(e & 0xffffffffu) - 1;
  }
}

std::string_view GloveTable::word(std::size_t row) const {
  return {words_ + word_offsets_[row], word_offsets_[row + 1] - word_offsets_[row]};
}

std::size_t GloveTable::embed(std::string_view text, std::vector<float>& out) const {
  // Accumulate in a fixed buffer; the file format allows any dim but the shipped one is 100.
  constexpr std::size_t kMaxDim = 1024;
  float acc[kMaxDim];
  const std::size_t d = dim_ <= kMaxDim ? dim_ : kMaxDim;
  std::fill(acc, acc + d, 0.0f);
  std::size_t found = 0;
  auto add = [&](std::string_view w) {
    const std::int64_t row = find(w);
    if (row < 0) return;
    ++found;
    const float wt = weights_[row];
    const float* v = vectors_ + static_cast<std::size_t>(row) * dim_;
    for (std::size_t k = 0; k < d; ++k) acc[k] += wt * v[k];
  };
  if (text.size() <= kEmbedHeadBytes + kEmbedTailBytes) {
    for_each_word(text, add);
  } else {
    // Cut both parts at a non-word byte so that no word is split in two.
    std::size_t head_end = kEmbedHeadBytes;
    while (head_end < text.size() && is_word_byte(static_cast<unsigned char>(text[head_end]))) ++head_end;
    std::size_t tail_begin = text.size() - kEmbedTailBytes;
    while (tail_begin < text.size() && is_word_byte(static_cast<unsigned char>(text[tail_begin]))) ++tail_begin;
    for_each_word(text.substr(0, head_end), add);
    if (tail_begin > head_end) for_each_word(text.substr(tail_begin), add);
  }
  double norm = 0;
  for (std::size_t k = 0; k < d; ++k) norm += double(acc[k]) * acc[k];
  if (found == 0 || norm <= 0) {
    out.clear();
    return 0;
  }
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  out.resize(dim_);
  for (std::size_t k = 0; k < d; ++k) out[k] = acc[k] * inv;
  return found;
}

Result<std::size_t> convert_glove_json(const std::string& json_path, const std::string& out_path) {
  using namespace simdjson;
  auto fail = [&](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_glove_json", json_path + ": " + why);
  };
  padded_string json;
  if (auto err = padded_string::load(json_path).get(json)) return fail(std::string("cannot read: ") + error_message(err));
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
        for (auto w : field.value().get_array()) words.emplace_back(std::string_view(w.get_string().value()));
      } else if (key == "vectors") {
        if (dim == 0 || count == 0 || dim > 1024) return fail("'dimensions' and 'size' must come before 'vectors'");
        vectors.assign(count * dim, 0.0f);
        filled.assign(count, 0);
        std::vector<double> row(dim + 2);
        for (auto entry : field.value().get_object()) {
          std::string_view word = entry.unescaped_key().value();
          std::size_t n = 0;
          for (auto x : entry.value().get_array()) {
            if (n == dim + 2) return fail("vector of '" + std::string(word) + "' is longer than dim + 2");
            row[n++] = x.get_double().value();
          }
          if (n != dim + 2) return fail("vector of '" + std::string(word) + "' has " + std::to_string(n) + " numbers");
          const auto index = static_cast<std::size_t>(row[dim + 1]);
          if (index >= count || filled[index]) return fail("bad or repeated index for '" + std::string(word) + "'");
          double norm = 0;
          for (std::size_t k = 0; k < dim; ++k) norm += row[k] * row[k];
          norm = std::sqrt(norm);
          if (norm > 0)
            for (std::size_t k = 0; k < dim; ++k) vectors[index * dim + k] = static_cast<float>(row[k] / norm);
          filled[index] = 1;
        }
      }
    }
  } catch (const simdjson_error& e) {
    return fail(std::string("malformed: ") + e.what());
  }
  if (dim == 0 || count == 0) return fail("missing 'dimensions' or 'size'");
  if (words.size() != count) return fail("'words' has " + std::to_string(words.size()) + " entries, 'size' says " + std::to_string(count));
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
      if ((table[i] >> 32) == (hash >> 32)) dup = true;  // same key (or a 52-bit collision): keep the first
      i = (i + 1) & (h.table_size - 1);
    }
    if (!dup) table[i] = ((hash >> 32) << 32) | (r + 1);
  }
  // SIF weights from Zipf's law on the frequency rank: p(rank) = 1 / ((rank + 1) * H_count).
  const double harmonic = std::log(double(count)) + 0.5772156649;
  std::vector<float> weights(count);
  for (std::size_t r = 0; r < count; ++r) {
    const double p = 1.0 / ((r + 1) * harmonic);
    weights[r] = static_cast<float>(1e-3 / (1e-3 + p));
  }
  std::vector<std::uint32_t> offsets(count + 1, 0);
  std::string blob;
  for (std::size_t r = 0; r < count; ++r) {
    offsets[r] = static_cast<std::uint32_t>(blob.size());
    blob += words[r];
  }
  offsets[count] = static_cast<std::uint32_t>(blob.size());
  h.table_off = align64(sizeof(Header));
  h.weights_off = align64(h.table_off + table.size() * 8);
  h.word_offsets_off = align64(h.weights_off + weights.size() * 4);
  h.words_off = align64(h.word_offsets_off + offsets.size() * 4);
  h.words_size = blob.size();
  h.vectors_off = align64(h.words_off + blob.size());

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
    pad_to(h.weights_off);
    out.write(reinterpret_cast<const char*>(weights.data()), weights.size() * 4);
    pad_to(h.word_offsets_off);
    out.write(reinterpret_cast<const char*>(offsets.data()), offsets.size() * 4);
    pad_to(h.words_off);
    out.write(blob.data(), blob.size());
    pad_to(h.vectors_off);
    out.write(reinterpret_cast<const char*>(vectors.data()), vectors.size() * 4);
    if (!out.flush()) return make_error(ErrorKind::kInternal, "write_failed", tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0)
    return make_error(ErrorKind::kInternal, "write_failed", out_path + ": cannot rename " + tmp);
  return count;
}

}  // namespace switchboard::signals
