// `switchboard decisions --store PATH [--count]`: the decision records of a store's SQLite file
// as JSON Lines (each line what GET /v1/decisions/{id} answers), in the order they were written;
// with --count, only their number. Reads a read-only connection: safe beside a running gateway
// (records still queued in its memory are not in the file yet). For tools and tests that used to
// query the one-row-per-record table (store/decision_batches.h).
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "store/decision_query.h"

namespace switchboard::cli {
namespace {

struct DecisionsOptions {
  std::string store;
  bool count = false;
};

int run_decisions(const DecisionsOptions& o) {
  if (o.count) {
    auto n = store::count_stored_decisions(o.store);
    if (!n) {
      fmt::print(stderr, "switchboard decisions: {}\n", n.error().message);
      return 1;
    }
    fmt::print("{}\n", *n);
    return 0;
  }
  std::string line;
  auto n = store::each_stored_decision(o.store, [&line](const store::DecisionRecord& r) {
    line = r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
  std::fflush(stdout);
  if (!n) {
    fmt::print(stderr, "switchboard decisions: {}\n", n.error().message);
    return 1;
  }
  return 0;
}

const CommandRegistrar kDecisions(
    "decisions", "Print the stored decision records (JSON Lines) or their number",
    [](CLI::App& app) {
      auto o = std::make_shared<DecisionsOptions>();
      app.add_option("--store", o->store, "The store's SQLite file (store.sqlite)")->required();
      app.add_flag("--count", o->count, "Print only the number of records");
      return [o] { return run_decisions(*o); };
    });

}  // namespace
}  // namespace switchboard::cli
