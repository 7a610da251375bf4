#include "signals/extractor.h"

#include <cstdlib>

#include "signals/code_detect.h"
#include "signals/fasttext_model.h"
#include "signals/glove.h"
#include "signals/glove_shared.h"
#include "signals/task_classifier.h"
#include "signals/words.h"

#ifndef SB_PROJECT_ROOT
#define SB_PROJECT_ROOT "."
#endif

namespace switchboard::signals {
namespace {

// The text the language identifier reads: the last lines of the prompt holding at least
// kLanguageMinBytes, within its last kLanguageBytes. Messages are joined by '\n', so this is the
// latest message (or its last lines), not a long English system prompt before it.
std::string_view language_window(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
    text.remove_suffix(1);
  if (text.size() > kLanguageBytes) text.remove_prefix(text.size() - kLanguageBytes);
  std::size_t pos = text.size();
  while (pos > 0) {
    const std::size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string_view::npos) return text;
    if (text.size() - (nl + 1) >= kLanguageMinBytes) return text.substr(nl + 1);
    pos = nl;
  }
  return text;
}

bool has_word(std::string_view text) {
  for (char c : text)
    if (is_word_byte(static_cast<unsigned char>(c))) return true;
  return false;
}

class ExtractorImpl final : public Extractor {
 public:
  // Constant after load().
  std::shared_ptr<const GloveTable> glove;  // the process's one copy (glove_shared.h)
  std::unique_ptr<FastTextModel> lid;
  std::unique_ptr<FastTextModel> task;

  void extract(std::string_view text, const SignalNeeds& needs, Signals& out) const override {
    if (needs.language && lid && has_word(text)) {  // no words, no language (fastText would guess)
      Prediction p = lid->predict(language_window(text), kLanguageBytes);
      out.language = std::move(p.label);
      out.language_confidence = p.probability;
    }
    if (needs.code) out.has_code = detect_code(text);
    if (needs.embedding && glove) glove->embed(text, out.embedding);
    if (needs.task && task) {
      Prediction p = predict_task(*task, text);
      out.task = std::move(p.label);
      out.task_confidence = p.probability;
    }
  }
  std::size_t embedding_dim() const override { return glove ? glove->dim() : 0; }
};

}  // namespace

std::string default_weights_dir() {
  if (const char* env = std::getenv("SWITCHBOARD_WEIGHTS_DIR"); env && *env) return env;
  return std::string(SB_PROJECT_ROOT) + "/weights";
}

Result<std::shared_ptr<const Extractor>> Extractor::load(const ExtractorOptions& options,
                                                         const SignalNeeds& needs) {
  auto impl = std::make_shared<ExtractorImpl>();
  const std::string dir = options.weights_dir.empty() ? default_weights_dir() : options.weights_dir;
  const std::string hint =
      "install the weights with `make weights` (scripts/fetch-weights.sh; "
      "SWITCHBOARD_WEIGHTS_DIR or signals.weights_dir choose the directory)";
  if (needs.embedding && !options.http_embedding()) {  // http: see http_embedding.h
    auto g = shared_glove(dir);
    if (!g) {
      Error e = g.error();
      if (e.code == "missing_weights")
        e.message = dir + "/" + kGloveFileName + ": not found; " + hint;
      return e;
    }
    impl->glove = std::move(*g);
  }
  if (needs.language) {
    auto m = FastTextModel::load(dir + "/" + kLanguageModelFileName, hint);
    if (!m) return m.error();
    impl->lid = std::move(*m);
  }
  if (needs.task) {
    if (options.task_model.empty())
      return make_error(
          ErrorKind::kBadRequest, "missing_weights",
          "a policy reads the task signal but no task classifier is configured "
          "(signals.task_model); "
          "train one with `switchboard train --policy task --data TRAIN.jsonl --out DIR`");
    auto m = FastTextModel::load(
        options.task_model,
        "train it with `switchboard train --policy task --data TRAIN.jsonl --out DIR`");
    if (!m) return m.error();
    impl->task = std::move(*m);
  }
  return std::shared_ptr<const Extractor>(std::move(impl));
}

}  // namespace switchboard::signals
