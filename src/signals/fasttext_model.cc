#include "signals/fasttext_model.h"
#include "signals/fasttext_file.h"

#include <fasttext/fasttext.h>
#include <sys/stat.h>

#include <istream>
#include <streambuf>

namespace switchboard::signals {
namespace {

// An istream source over a caller's buffer, so predict() copies nothing into a stringstream.
struct ViewBuf : std::streambuf {
  ViewBuf(char* begin, char* end) { setg(begin, begin, end); }
};

constexpr std::string_view kLabelPrefix = "__label__";

}  // namespace

FastTextModel::FastTextModel() : ft_(std::make_unique<fasttext::FastText>()) {}
FastTextModel::~FastTextModel() = default;

Result<std::unique_ptr<FastTextModel>> FastTextModel::load(const std::string& path,
                                                           const std::string& install_hint) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return make_error(ErrorKind::kInternal, "missing_weights",
                      path + ": not found; " + install_hint);
  // fastText's loader trusts the file (signals/fasttext_file.h).
  if (auto checked = check_fasttext_file(path); !checked)
    return make_error(ErrorKind::kInternal, "bad_weights",
                      checked.error().message + "; " + install_hint);
  std::unique_ptr<FastTextModel> m(new FastTextModel());
  try {
    m->ft_->loadModel(path);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "bad_weights",
                      path + ": cannot load fastText model (" + e.what() + "); " + install_hint);
  }
  return m;
}

Prediction FastTextModel::predict(std::string_view text, std::size_t max_bytes) const {
  if (text.size() > max_bytes) {
    std::size_t start = text.size() - max_bytes;
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
      ++start;  // UTF-8 boundary
    text.remove_prefix(start);
  }
  // Stack copy with newlines as spaces (fastText would otherwise see several lines).
  constexpr std::size_t kStack = 4096;
  char stack_buf[kStack];
  std::string heap;
  char* buf = stack_buf;
  if (text.size() + 1 > kStack) {
    heap.resize(text.size() + 1);
    buf = heap.data();
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    buf[i] = (c == '\n' || c == '\r' || c == '\v' || c == '\f') ? ' ' : c;
  }
  buf[text.size()] = '\n';
  ViewBuf vb(buf, buf + text.size() + 1);
  std::istream in(&vb);
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  Prediction out;
  try {
    if (!ft_->predictLine(in, predictions, 1, 0.0) || predictions.empty()) return out;
  } catch (const std::exception&) {
    return out;
  }
  std::string_view label = predictions[0].second;
  if (label.starts_with(kLabelPrefix)) label.remove_prefix(kLabelPrefix.size());
  out.label = std::string(label);
  float p = predictions[0].first;
  out.probability = p < 0 ? 0 : (p > 1 ? 1 : p);
  return out;
}

}  // namespace switchboard::signals
