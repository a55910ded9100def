#pragma once
// One subcommand of comfyq-server: its flags, registered on the command line, and what it does
// once they are parsed. Each lives in a file of its own, <name>_command.hpp.

#include <functional>

#include <CLI/CLI.hpp>

namespace comfyq_server {

struct subcommand {
  CLI::App* cli;
  /// Runs it; throws comfyq::invalid_input for a wrong setting, anything else for a failure.
  std::function<void()> run;
};

}  // namespace comfyq_server
