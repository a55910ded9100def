// comfyq-server: the server of a shared ComfyUI. Each subcommand is a file of its own
// (<name>_command.hpp) that registers its flags and says what it runs; everything they decide
// is comfyq::server's. Exit status: 0 done, 2 a wrong command line or setting, 1 any other
// failure; every message goes to standard error. See docs/server.md.

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "comfyq/errors.hpp"
#include "init_command.hpp"
#include "nginx_config_command.hpp"
#include "serve_command.hpp"
#include "subcommand.hpp"

namespace {

constexpr int failed = 1;
constexpr int bad_usage = 2;

// The library names a wrong setting by its field ("server_name"); the operator typed the flag
// (--server-name), so the message names that instead where the subcommand has one.
std::string naming_the_flag(const comfyq::invalid_input& e, const CLI::App& cli) {
  const std::string what = e.what();
  const std::string prefix = "[comfyq.invalid_input] " + e.field() + ": ";
  std::string flag = "--" + e.field();
  std::replace(flag.begin(), flag.end(), '_', '-');
  if (e.field().empty() || !what.starts_with(prefix) || cli.get_option_no_throw(flag) == nullptr) return what;
  return flag + ": " + what.substr(prefix.size());
}

// The command line with "serve" put first when it names no subcommand: serve is the default.
std::vector<std::string> with_default_subcommand(int argc, char** argv,
                                                const std::vector<comfyq_server::subcommand>& subcommands) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool asks_for_help = !args.empty() && (args.front() == "--help" || args.front() == "-h");
  const bool names_one = !args.empty() && std::any_of(subcommands.begin(), subcommands.end(), [&](const auto& s) {
    return s.cli->get_name() == args.front();
  });
  if (!asks_for_help && !names_one) {
    args.insert(args.begin(), "serve");
  }
  std::reverse(args.begin(), args.end());  // CLI11 reads a vector from its back
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"comfyq-server: fair GPU job scheduling for a shared ComfyUI"};
  app.require_subcommand(1);
  const std::vector<comfyq_server::subcommand> subcommands{
      comfyq_server::add_serve(app), comfyq_server::add_init(app), comfyq_server::add_nginx_config(app)};
  try {
    std::vector<std::string> args = with_default_subcommand(argc, argv, subcommands);
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every mistake in the command line exits bad_usage.
    return app.exit(e) == 0 ? 0 : bad_usage;
  }

  const auto chosen = std::find_if(subcommands.begin(), subcommands.end(),
                                   [](const comfyq_server::subcommand& s) { return s.cli->parsed(); });
  const std::string name = "comfyq-server " + chosen->cli->get_name();
  try {
    chosen->run();
    return 0;
  } catch (const comfyq::invalid_input& e) {
    std::cerr << name << ": " << naming_the_flag(e, *chosen->cli) << '\n';
    return bad_usage;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << '\n';
    return failed;
  }
}
