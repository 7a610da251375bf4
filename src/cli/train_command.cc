// `switchboard train --data TRAIN.jsonl --policy knn|classifier|mf --out DIR`: fits a learned
// policy on recorded outcomes through its registered trainer (policies/trainer.h), writes the
// versioned model directory (policies/model_dir.h) and prints the `policy:` YAML to paste into a
// route.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/number_checks.h"
#include "cli/staged_dir.h"
#include "data/outcomes.h"
#include "guard/jailbreak.h"
#include "policies/trainer.h"
#include "signals/task_classifier.h"

namespace switchboard::cli {
namespace {

struct TrainCliOptions {
  std::string data, policy, out;
  std::vector<std::string> models;
  std::vector<std::string> params;  // key=value hyper-parameters
  std::string weights_dir, task_model;
  std::uint64_t seed = 1;
};

// A bar redrawn in place on a terminal; otherwise one plain line per change of stage or 10%.
class TrainProgress {
 public:
  explicit TrainProgress(bool tty) : tty_(tty) {}
  void update(std::string_view stage, std::size_t done, std::size_t total) {
    const int percent = total ? static_cast<int>(done * 100 / total) : 100;
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = percent * kWidth / 100;
      fmt::print(stderr, "\r  [{}{}] {:3d}%  {:<40}", std::string(filled, '#'),
                 std::string(kWidth - filled, '.'), percent, stage);
      if (done >= total) fmt::print(stderr, "\n");
    } else if (stage != last_stage_ || percent / 10 != last_percent_ / 10 || done >= total) {
      fmt::print(stderr, "train: {} {}%\n", stage, percent);
    }
    last_stage_ = stage;
    last_percent_ = percent;
    std::fflush(stderr);
  }

 private:
  bool tty_;
  std::string last_stage_;
  int last_percent_ = -100;
};

// `--policy task`: the signals' task classifier (signals/task_classifier.h), not a routing policy.
int run_train_task(const TrainCliOptions& o, const data::Outcomes& data) {
  const std::string path = (std::filesystem::path(o.out) / "task_model.bin").string();
  signals::TaskTrainOptions options;
  options.seed = o.seed;
  fmt::print(stderr, "train: task classifier on {} records\n", data.records.size());
  auto report = signals::train_task_classifier(data, path, options);
  if (!report) {
    fmt::print(stderr, "switchboard train: {}\n", report.error().message);
    return 1;
  }
  std::string labels;
  for (const auto& l : report->labels) labels += (labels.empty() ? "" : ", ") + l;
  fmt::print(
      "trained the task classifier on {} examples ({} without a label skipped); labels: {}\n",
      report->examples, report->skipped, labels);
  fmt::print("gateway config:\n  signals: {{task_model: {}}}\n",
             std::filesystem::absolute(path).string());
  return 0;
}

// parse_finite() or std::invalid_argument.
double finite_param(const std::string& text, double lo, double hi) {
  const auto v = parse_finite(text, lo, hi);
  if (!v) throw std::invalid_argument(text);
  return *v;
}

// parse_whole() or std::invalid_argument.
unsigned long long whole_param(const std::string& text, unsigned long long max) {
  const auto v = parse_whole(text, max);
  if (!v) throw std::invalid_argument(text);
  return *v;
}

// `--policy guard`: the guard's jailbreak / prompt-injection classifier (guard/jailbreak.h) on
// labelled examples ({"text","label":"attack"|"benign"} per line), not a routing policy.
int run_train_guard(const TrainCliOptions& o) {
  auto examples = guard::read_labelled_jsonl(o.data);
  if (!examples) {
    fmt::print(stderr, "switchboard train: {}\n", examples.error().message);
    return 1;
  }
  guard::JailbreakTrainOptions options;
  options.seed = o.seed;
  int folds = 0;  // --param cv=K: report K-fold cross-validation instead of writing a model
  for (const auto& kv : o.params) {
    auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq),
                      value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    try {
      if (key == "epochs")
        options.epochs = static_cast<int>(whole_param(value, 100000));
      else if (key == "dim_bits")
        options.dim_bits = static_cast<unsigned>(whole_param(value, 26));
      else if (key == "learning_rate")
        options.learning_rate = finite_param(value, 1e-12, 1e6);
      else if (key == "l2")
        options.l2 = finite_param(value, 0, 1e6);
      else if (key == "threshold")
        options.threshold = finite_param(value, 0, 1);
      else if (key == "window")
        options.window_words = static_cast<unsigned>(whole_param(value, guard::kMaxWindowWords));
      else if (key == "cv")
        folds = static_cast<int>(whole_param(value, 1000));
      else
        throw std::invalid_argument(key);
    } catch (const std::exception&) {
      fmt::print(stderr,
                 "switchboard train: bad --param '{}' for guard (epochs, dim_bits, learning_rate, "
                 "l2, threshold, window, cv)\n",
                 kv);
      return 2;
    }
  }
  if (options.dim_bits < 8 || options.dim_bits > 26 || options.epochs < 1 ||
      options.window_words > guard::kMaxWindowWords) {
    fmt::print(stderr,
               "switchboard train: dim_bits must be in [8, 26], epochs >= 1 and window in [0, "
               "4096] words (0: the whole text)\n");
    return 2;
  }
  if (folds != 0) {
    auto cv = guard::cross_validate_jailbreak(*examples, options, folds);
    if (!cv) {
      fmt::print(stderr, "switchboard train: {}: {}\n", o.data, cv.error().message);
      return 1;
    }
    const auto& s = cv->at_threshold;
    const double p = s.precision(), r = s.recall();
    fmt::print(
        "{}-fold cross-validation on {} examples: AUC {:.3f}; at threshold {}: precision {:.3f}, "
        "recall {:.3f}, F1 {:.3f} (tp {} fp {} tn {} fn {}); no model written\n",
        folds, examples->size(), cv->auc, options.threshold, p, r,
        p + r > 0 ? 2 * p * r / (p + r) : 0.0, s.tp, s.fp, s.tn, s.fn);
    return 0;
  }
  auto model = guard::train_jailbreak(*examples, options);
  if (!model) {
    fmt::print(stderr, "switchboard train: {}: {}\n", o.data, model.error().message);
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  const std::string path = (std::filesystem::path(o.out) / guard::kJailbreakModelFile).string();
  if (auto saved = (*model)->save(path); !saved) {
    fmt::print(stderr, "switchboard train: {}\n", saved.error().message);
    return 1;
  }
  const auto fit = guard::evaluate_jailbreak(**model, *examples, options.threshold);
  fmt::print(
      "trained the jailbreak classifier on {} examples ({} attacks); on its own training set: "
      "precision {:.3f}, recall {:.3f}\n",
      examples->size(), fit.tp + fit.fn, fit.precision(), fit.recall());
  fmt::print("route config:\n  guard: {{jailbreak: {{model: {}, action: block}}}}\n",
             std::filesystem::absolute(o.out).string());
  return 0;
}

int run_train(const TrainCliOptions& o) {
  if (o.policy == "guard") return run_train_guard(o);
  if (o.policy == "task") {
    if (!o.params.empty()) {
      fmt::print(stderr, "switchboard train: the task classifier takes no --param\n");
      return 2;
    }
    auto data = data::read_outcomes_jsonl(o.data);
    if (!data) {
      fmt::print(stderr, "switchboard train: {}\n", data.error().message);
      return 1;
    }
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    return run_train_task(o, *data);
  }
  const policies::PolicyTrainer* trainer = policies::TrainerRegistry::instance().find(o.policy);
  if (!trainer) {
    std::string names;
    for (const auto& n : policies::TrainerRegistry::instance().names())
      names += (names.empty() ? "" : ", ") + n;
    fmt::print(stderr, "switchboard train: no trainer for policy '{}' (known: {})\n", o.policy,
               names);
    return 2;
  }
  auto data = data::read_outcomes_jsonl(o.data);
  if (!data) {
    fmt::print(stderr, "switchboard train: {}\n", data.error().message);
    return 1;
  }
  std::vector<std::string> models = o.models.empty() ? data->models() : o.models;
  std::sort(models.begin(), models.end());
  // Named twice, or not in the data: refused by name (a directory no route could load was
  // written, or "fewer than 2 training records" named no model).
  if (auto twice = std::adjacent_find(models.begin(), models.end()); twice != models.end()) {
    fmt::print(stderr, "switchboard train: --models names '{}' twice\n", *twice);
    return 2;
  }
  const std::vector<std::string> in_data = data->models();
  for (const auto& m : models)
    if (std::find(in_data.begin(), in_data.end(), m) == in_data.end()) {
      fmt::print(stderr, "switchboard train: --models: '{}' has no outcome in {}\n", m, o.data);
      return 2;
    }
  // Written beside --out and swapped in whole (cli/staged_dir.h).
  auto staged = StagedDir::create(o.out);
  if (!staged) {
    fmt::print(stderr, "switchboard train: {}\n", staged.error().message);
    return 1;
  }
  YAML::Node spec;
  spec["type"] = o.policy;
  if (!o.models.empty())
    for (const auto& m : models) spec["models"].push_back(m);
  for (const auto& kv : o.params) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "switchboard train: --param wants KEY=VALUE, got '{}'\n", kv);
      return 2;
    }
    try {
      spec[kv.substr(0, eq)] = YAML::Load(kv.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      fmt::print(stderr, "switchboard train: --param {}: not a value ({})\n", kv, e.msg);
      return 2;
    }
  }
  TrainProgress progress(isatty(STDERR_FILENO));
  signals::ExtractorOptions signal_options;
  signal_options.weights_dir = o.weights_dir;
  signal_options.task_model = o.task_model;
  policies::TrainContext ctx{
      *data,
      models,
      spec,
      staged->path(),
      o.seed,
      signal_options,
      o.data,
      [&progress](std::string_view stage, std::size_t done, std::size_t total) {
        progress.update(stage, done, total);
      }};
  auto trained = policies::run_trainer(*trainer, ctx);
  if (!trained) {
    fmt::print(stderr, "switchboard train: {}\n", trained.error().message);
    return 1;
  }
  if (auto e = staged->publish(trained->spec)) {
    fmt::print(stderr, "switchboard train: {}\n", e->message);
    return 1;
  }
  YAML::Emitter out;
  out << YAML::Flow << trained->spec;
  fmt::print("trained {} on {} ({} records, {} models) into {}\n", o.policy, o.data,
             data->records.size(), models.size(), o.out);
  fmt::print("route config:\n  policy: {}\n", out.c_str());
  return 0;
}

const CommandRegistrar kTrain(
    "train", "Train a learned routing policy on recorded outcomes into a model directory",
    [](CLI::App& app) {
      auto o = std::make_shared<TrainCliOptions>();
      app.add_option("--data", o->data, "Recorded outcomes to train on (JSONL)")->required();
      app.add_option("--policy", o->policy, "Policy type: knn, classifier, mf, blend (or task, guard, verifier)")
          ->required();
      app.add_option("--out", o->out, "Model directory to write")->required();
      app.add_option("--models", o->models,
                     "Models the route may choose (default: every model in the data)")
          ->delimiter(',');
      app.add_option("--param", o->params, "Hyper-parameter KEY=VALUE (repeatable), e.g. k=20");
      app.add_option("--weights", o->weights_dir,
                     "Signal weights directory (default: the built-in one)");
      app.add_option("--task-model", o->task_model, "Task classifier for the task signal");
      app.add_option("--seed", o->seed, "Seed for anything random")
          ->capture_default_str()
          ->check(whole_number());
      return [o] { return run_train(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
