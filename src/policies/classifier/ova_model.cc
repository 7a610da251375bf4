#include "policies/classifier/ova_model.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace switchboard::policies {

nlohmann::json OvaParams::to_json() const {
  return {{"dim", dim},       {"epoch", epoch}, {"word_ngrams", word_ngrams},
          {"bucket", bucket}, {"lr", lr},       {"threshold", threshold},
          {"loss", "ova"}};
}

Result<std::unique_ptr<fasttext::FastText>> train_ova(const TrainTable& table,
                                                      const std::vector<std::string>& texts,
                                                      const std::vector<std::size_t>& rows,
                                                      const OvaParams& p,
                                                      const std::string& scratch_path) {
  {
    std::ofstream out(scratch_path, std::ios::trunc);
    for (std::size_t i : rows) {
      bool any = false;
      for (std::size_t m = 0; m < table.models.size(); ++m)
        if (table.rows[i].score[m] >= p.threshold) {
          out << "__label__" << m << ' ';
          any = true;
        }
      if (!any) out << "__label__none ";
      if (!table.rows[i].task.empty()) out << "__label__t:" << table.rows[i].task << ' ';
      out << (texts[i].empty() ? "_empty_" : texts[i]) << '\n';
    }
    if (!out)
      return make_error(ErrorKind::kInternal, "write_failed", "cannot write " + scratch_path);
  }
  fasttext::Args args;
  args.input = scratch_path;
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::ova;
  args.dim = p.dim;
  args.epoch = p.epoch;
  args.wordNgrams = p.word_ngrams;
  args.bucket = p.bucket;
  args.lr = p.lr;
  args.minCount = 1;
  args.minn = 0;
  args.maxn = 0;
  args.thread = 1;  // determinism
  args.verbose = 0;
  args.seed = static_cast<int>(p.seed);
  auto model = std::make_unique<fasttext::FastText>();
  try {
    model->train(args);
  } catch (const std::exception& e) {
    std::remove(scratch_path.c_str());
    return make_error(ErrorKind::kBadRequest, "train_failed",
                      std::string("fastText training failed: ") + e.what());
  }
  std::remove(scratch_path.c_str());
  return model;
}

void predict_ova(const fasttext::FastText& model, const std::string& text, std::size_t n_models,
                 std::vector<double>& out, const std::vector<std::string>* tasks,
                 std::vector<double>* task_probs) {
  out.assign(n_models, 0.0);
  if (task_probs) task_probs->assign(tasks->size(), 0.0);
  std::istringstream in(text + "\n");
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  model.predictLine(in, predictions, -1, 0.0);
  constexpr std::string_view kPrefix = "__label__";
  for (const auto& [prob, label] : predictions) {
    if (label.size() <= kPrefix.size() || label == "__label__none") continue;
    if (label.compare(kPrefix.size(), 2, "t:") == 0) {
      if (!task_probs) continue;
      const std::string_view task = std::string_view(label).substr(kPrefix.size() + 2);
      for (std::size_t t = 0; t < tasks->size(); ++t)
        if ((*tasks)[t] == task) (*task_probs)[t] = prob;
      continue;
    }
    // A model's index, whole: a label that is not one (made by a prompt's text before session 31)
    // was read as model 0 and overwrote its prediction.
    const std::string_view rest = std::string_view(label).substr(kPrefix.size());
    std::size_t m = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), m);
    if (ec == std::errc() && end == rest.data() + rest.size() && m < n_models) out[m] = prob;
  }
}

}  // namespace switchboard::policies
