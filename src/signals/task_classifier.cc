#include "signals/task_classifier.h"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "signals/words.h"

namespace switchboard::signals {
namespace {

void append_task_text(std::string_view prompt_text, std::string& out) {
  out.clear();
  if (prompt_text.size() > kTaskBytes) {
    std::size_t start = prompt_text.size() - kTaskBytes;
    while (start < prompt_text.size() &&
           is_word_byte(static_cast<unsigned char>(prompt_text[start])))
      ++start;
    prompt_text.remove_prefix(start);
  }
  for_each_word(prompt_text, [&](std::string_view w) {
    if (!out.empty()) out += ' ';
    out += w;
  });
}

std::string join_messages(const data::PromptRecord& r) {
  std::string text;
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    if (i) text += '\n';
    text += r.messages[i].content;
  }
  return text;
}

// fastText labels cannot contain whitespace.
std::string label_token(const std::string& task) {
  std::string t = task;
  for (char& c : t)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') c = '_';
  return t;
}

}  // namespace

std::string task_text(std::string_view prompt_text) {
  std::string out;
  append_task_text(prompt_text, out);
  return out;
}

Result<TaskTrainReport> train_task_classifier(const data::Outcomes& train,
                                              const std::string& out_path,
                                              const TaskTrainOptions& options) {
  TaskTrainReport report;
  std::set<std::string> labels;
  const std::string input = out_path + ".train.txt";
  {
    std::ofstream f(input, std::ios::trunc);
    if (!f) return make_error(ErrorKind::kInternal, "write_failed", input + ": cannot write");
    for (const auto& r : train.records) {
      if (r.task.empty()) {
        ++report.skipped;
        continue;
      }
      std::string text = task_text(join_messages(r));
      const std::string label = label_token(r.task);
      labels.insert(label);
      f << "__label__" << label << ' ' << text << '\n';
      ++report.examples;
    }
    if (!f.flush())
      return make_error(ErrorKind::kInternal, "write_failed", input + ": write failed");
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() { std::remove(path.c_str()); }
  } cleanup{input};
  if (labels.size() < 2)
    return make_error(
        ErrorKind::kBadRequest, "bad_training_data",
        "the task classifier needs records with at least two distinct `task` labels (found " +
            std::to_string(labels.size()) + " among " + std::to_string(train.records.size()) +
            " records)");
  report.labels.assign(labels.begin(), labels.end());

  fasttext::Args a;
  a.input = input;
  a.model = fasttext::model_name::sup;
  a.loss = fasttext::loss_name::softmax;
  a.minCount = 1;
  a.minn = 0;
  a.maxn = 0;
  a.lr = options.lr;
  a.epoch = options.epoch;
  a.wordNgrams = options.word_ngrams;
  a.dim = options.dim;
  a.bucket = options.word_ngrams > 1 ? options.buckets : 0;
  a.thread = 1;  // deterministic for a seed
  a.seed = static_cast<int>(options.seed);
  a.verbose = 0;
  try {
    fasttext::FastText ft;
    ft.train(a);
    const std::string tmp = out_path + ".tmp";
    ft.saveModel(tmp);
    if (std::rename(tmp.c_str(), out_path.c_str()) != 0)
      return make_error(ErrorKind::kInternal, "write_failed", out_path + ": cannot rename " + tmp);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "train_failed",
                      std::string("fastText training failed: ") + e.what());
  }
  return report;
}

Prediction predict_task(const FastTextModel& model, std::string_view prompt_text) {
  thread_local std::string text;
  append_task_text(prompt_text, text);
  return model.predict(text, text.size());
}

}  // namespace switchboard::signals
