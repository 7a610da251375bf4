#include "signals/fasttext_file.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

namespace switchboard::signals {
namespace {

constexpr std::int32_t kMagic = 793712314;  // fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32
constexpr std::int32_t kMaxDim = 1 << 16;
constexpr std::int64_t kCentroidsPerSub = 256;  // ProductQuantizer's ksub_ (8 bits)

// Sequential reads bounded by the file's size; the first failure sticks.
class Reader {
 public:
  Reader(std::ifstream& in, std::uint64_t size) : in_(in), size_(size) {}
  template <typename T>
  std::optional<T> get() {
    if (!room(sizeof(T))) return std::nullopt;
    T v{};
    in_.read(reinterpret_cast<char*>(&v), sizeof v);
    if (!in_) return fail();
    at_ += sizeof v;
    return v;
  }
  // Skips `n` bytes that must all be in the file.
  bool skip(std::uint64_t n) {
    if (!room(n)) return false;
    in_.seekg(static_cast<std::streamoff>(n), std::ios::cur);
    if (!in_) {
      fail();
      return false;
    }
    at_ += n;
    return true;
  }
  // A NUL-terminated string (a dictionary word) that ends within the file.
  bool word() {
    for (;;) {
      const int c = in_.get();
      if (c == std::char_traits<char>::eof()) {
        fail();
        return false;
      }
      ++at_;
      if (c == 0) return true;
    }
  }
  std::uint64_t at() const { return at_; }
  std::uint64_t size() const { return size_; }

 private:
  bool room(std::uint64_t n) const { return n <= size_ && at_ <= size_ - n; }
  std::nullopt_t fail() {
    at_ = std::numeric_limits<std::uint64_t>::max();  // every later check fails
    return std::nullopt;
  }
  std::ifstream& in_;
  std::uint64_t size_;
  std::uint64_t at_ = 0;
};

// rows × cols × bytes when it fits in the file, else nullopt.
std::optional<std::uint64_t> extent(std::int64_t rows, std::int64_t cols, std::uint64_t bytes,
                                    std::uint64_t file_size) {
  if (rows < 0 || cols < 0) return std::nullopt;
  const auto r = static_cast<std::uint64_t>(rows), c = static_cast<std::uint64_t>(cols);
  if (c != 0 && r > file_size / c) return std::nullopt;
  const std::uint64_t cells = r * c;
  if (bytes != 0 && cells > file_size / bytes) return std::nullopt;
  return cells * bytes;
}

// A ProductQuantizer of vectors of `dim` floats: its header and centroids. Its sub-quantizers
// must split `dim` as fastText's constructor does (nsubq = ceil(dim / dsub), the last one taking
// the rest), and `nsubq` is returned through `subquantizers`.
std::optional<std::string> product_quantizer(Reader& r, std::int32_t dim,
                                             std::int64_t* subquantizers = nullptr) {
  const auto pq_dim = r.get<std::int32_t>();
  const auto nsubq = r.get<std::int32_t>();
  const auto dsub = r.get<std::int32_t>();
  const auto lastdsub = r.get<std::int32_t>();
  if (!pq_dim || !nsubq || !dsub || !lastdsub) return "ends inside a product quantizer";
  if (*pq_dim != dim || *nsubq <= 0 || *dsub <= 0 || *lastdsub <= 0 ||
      *nsubq != (dim + *dsub - 1) / *dsub ||
      static_cast<std::int64_t>(*lastdsub) !=
          dim - static_cast<std::int64_t>(*nsubq - 1) * *dsub)
    return "a product quantizer disagrees with the model's dimension";
  if (subquantizers) *subquantizers = *nsubq;
  const auto centroids = extent(*pq_dim, kCentroidsPerSub, sizeof(float), r.size());
  if (!centroids || !r.skip(*centroids)) return "ends inside a product quantizer's centroids";
  return std::nullopt;
}

// A matrix (dense, or quantized when `quantized`) of `rows` rows of `dim` values.
std::optional<std::string> matrix(Reader& r, bool quantized, std::int32_t dim, std::int64_t rows,
                                  const char* which) {
  const std::string name = which;
  const auto wrong_rows = [&](std::int64_t m) -> std::optional<std::string> {
    if (m == rows) return std::nullopt;
    return "the " + name + " matrix has " + std::to_string(m) + " rows, the dictionary and " +
           "arguments call for " + std::to_string(rows);
  };
  if (!quantized) {
    const auto m = r.get<std::int64_t>();
    const auto n = r.get<std::int64_t>();
    if (!m || !n) return "ends inside the " + name + " matrix's header";
    if (*n != dim) return "the " + name + " matrix has rows of " + std::to_string(*n) +
                          " values, the header says dim " + std::to_string(dim);
    if (auto e = wrong_rows(*m)) return e;
    const auto bytes = extent(*m, *n, sizeof(float), r.size());
    if (!bytes || !r.skip(*bytes)) return "ends inside the " + name + " matrix";
    return std::nullopt;
  }
  const auto qnorm = r.get<std::uint8_t>();
  const auto m = r.get<std::int64_t>();
  const auto n = r.get<std::int64_t>();
  const auto codesize = r.get<std::int32_t>();
  if (!qnorm || !m || !n || !codesize) return "ends inside the quantized " + name + " matrix";
  if (*n != dim || *m < 0 || *codesize < 0)
    return "the quantized " + name + " matrix disagrees with the model's dimension";
  if (auto e = wrong_rows(*m)) return e;
  if (!r.skip(static_cast<std::uint64_t>(*codesize)))
    return "ends inside the quantized " + name + " matrix's codes";
  std::int64_t nsubq = 0;
  if (auto e = product_quantizer(r, dim, &nsubq)) return *e;
  if (*codesize != *m * nsubq)
    return "the quantized " + name + " matrix's codes do not match its rows";
  if (*qnorm) {
    if (!r.skip(static_cast<std::uint64_t>(*m))) return "ends inside the " + name + " norms";
    if (auto e = product_quantizer(r, 1)) return *e;
  }
  return std::nullopt;
}

std::optional<std::string> check(Reader& r) {
  const auto magic = r.get<std::int32_t>();
  const auto version = r.get<std::int32_t>();
  if (!magic || *magic != kMagic) return "not a fastText model (wrong magic number)";
  if (!version || (*version != 11 && *version != 12))
    return "a fastText file format this build does not read (version " +
           std::to_string(version.value_or(-1)) + ")";
  // Args: dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
  // lrUpdateRate (int32 each), then t (double).
  std::array<std::int32_t, 12> args{};
  for (auto& a : args) {
    const auto v = r.get<std::int32_t>();
    if (!v) return "ends inside its arguments";
    a = *v;
  }
  if (!r.skip(sizeof(double))) return "ends inside its arguments";
  const std::int32_t dim = args[0], word_ngrams = args[5], loss = args[6], model = args[7],
                     bucket = args[8], minn = args[9];
  std::int32_t maxn = args[10];
  constexpr std::int32_t kSupervised = 3;                // fastText's model_name::sup
  if (*version == 11 && model == kSupervised) maxn = 0;  // as fastText's loader reads it
  if (dim <= 0 || dim > kMaxDim) return "dim " + std::to_string(dim) + " is out of range";
  if (loss < 1 || loss > 4 || model < 1 || model > 3) return "unknown loss or model type";
  if (bucket < 0 || minn < 0 || maxn < 0) return "negative bucket or subword lengths";
  // Subwords and word n-grams are hashed into `bucket` rows (a bucket of 0 divides by zero).
  if (bucket == 0 && (maxn > 0 || word_ngrams > 1))
    return "subwords or word n-grams with no hash buckets";
  const auto size = r.get<std::int32_t>();
  const auto nwords = r.get<std::int32_t>();
  const auto nlabels = r.get<std::int32_t>();
  const auto ntokens = r.get<std::int64_t>();
  const auto pruneidx = r.get<std::int64_t>();
  if (!size || !nwords || !nlabels || !ntokens || !pruneidx) return "ends inside its dictionary";
  if (*size < 0 || *nwords < 0 || *nlabels < 0 ||
      static_cast<std::int64_t>(*nwords) + *nlabels != *size)
    return "its dictionary's counts disagree";
  for (std::int32_t i = 0; i < *size; ++i) {
    if (!r.word()) return "ends inside dictionary word " + std::to_string(i);
    const auto count = r.get<std::int64_t>();
    const auto type = r.get<std::int8_t>();
    if (!count || !type) return "ends inside dictionary entry " + std::to_string(i);
    if (*type != 0 && *type != 1) return "dictionary entry " + std::to_string(i) + " has no type";
  }
  if (*pruneidx > 0) {
    const auto pairs = extent(*pruneidx, 2, sizeof(std::int32_t), r.size());
    if (!pairs || !r.skip(*pairs)) return "ends inside its pruned index";
  }
  const auto quant_input = r.get<std::uint8_t>();
  if (!quant_input) return "ends before its input matrix";
  // Input rows: the words, then the hash buckets (a pruned, quantized model keeps only the
  // buckets it indexes); output rows: the labels of a supervised model, else the words.
  const std::int64_t input_rows =
      static_cast<std::int64_t>(*nwords) + (*pruneidx > 0 ? *pruneidx : bucket);
  const std::int64_t output_rows = model == kSupervised ? *nlabels : *nwords;
  if (auto e = matrix(r, *quant_input != 0, dim, input_rows, "input")) return *e;
  const auto qout = r.get<std::uint8_t>();
  if (!qout) return "ends before its output matrix";
  if (auto e = matrix(r, *quant_input != 0 && *qout != 0, dim, output_rows, "output")) return *e;
  if (r.at() != r.size())
    return std::to_string(r.size() - r.at()) + " bytes follow the model's end";
  return std::nullopt;
}

}  // namespace

Result<bool> check_fasttext_file(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::kBadRequest, "bad_model_file", path + ": " + why);
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return bad("not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return bad("cannot read its size: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad("cannot open it");
  Reader r(in, size);
  if (auto why = check(r)) return bad("damaged fastText model: " + *why);
  return true;
}

}  // namespace switchboard::signals
