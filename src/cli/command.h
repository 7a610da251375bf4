// Subcommands of the `switchboard` binary. Each lives in its own file under src/cli/ and registers
// itself:
//
//   static const CommandRegistrar kServe("serve", "Run the gateway", [](CLI::App& app) {
//     auto opts = std::make_shared<Options>();
//     app.add_option("--config", opts->config)->required();
//     return [opts] { return run_serve(*opts); };   // the exit code
//   });
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "switchboard/registry.h"

namespace switchboard::cli {

using CommandMain = std::function<int()>;
struct CommandSpec {
  std::string description;
  // Declares the subcommand's options on `app` and returns what runs when it is chosen.
  std::function<CommandMain(CLI::App& app)> setup;
};
using CommandRegistry = Registry<CommandSpec>;

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description,
                   std::function<CommandMain(CLI::App&)> setup) {
    CommandRegistry::instance().add(std::move(name), CommandSpec{std::move(description), std::move(setup)});
  }
};

}  // namespace switchboard::cli
