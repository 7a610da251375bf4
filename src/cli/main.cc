// Entry point: dispatches to the registered subcommands (src/cli/*_command.cc).
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
    if (sub->parsed()) return run();
  }
  return 2;
}
