// Entry point: dispatches to the registered subcommands (src/cli/*_command.cc). A command that
// lets an exception out ends with its message and exit status 1, not std::terminate's abort (each
// command reports its own errors; this is the net under them).
#include <fmt/format.h>

#include <exception>
#include <map>

#include "cli/command.h"

int main(int argc, char** argv) {
  using namespace switchboard::cli;
  CLI::App app{"Switchboard: an LLM inference router speaking the OpenAI API"};
  app.require_subcommand(1);
  std::map<CLI::App*, CommandMain> mains;
  auto& registry = CommandRegistry::instance();
  for (const auto& name : registry.names()) {
    const CommandSpec* spec = registry.find(name);
    CLI::App* sub = app.add_subcommand(name, spec->description);
    mains[sub] = spec->setup(*sub);
  }
  CLI11_PARSE(app, argc, argv);
  for (auto& [sub, run] : mains) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const std::exception& e) {
      fmt::print(stderr, "switchboard {}: {}\n", sub->get_name(), e.what());
      return 1;
    }
  }
  return 2;
}
