#pragma once
// Runs a program to its end, as an operator runs a command: what it printed on standard output
// and standard error, and its exit status. For programs that end by themselves; one that runs
// longer than a minute is killed and fails the test.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/scratch_folder.hpp"

extern char** environ;

namespace comfyq::testing {

struct program_result {
  /// The exit status, or -1 if a signal ended the program.
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// The path of `name` in PATH or in the sbin folders (where nginx is), or "" if there is none.
inline std::string find_program(std::string_view name) {
  std::string folders = "/usr/local/sbin:/usr/sbin:/sbin";
  if (const char* path = std::getenv("PATH")) folders = std::string(path) + ":" + folders;
  std::istringstream list(folders);
  for (std::string folder; std::getline(list, folder, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(folder) / name;
    if (!folder.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

/// Runs `executable` with `arguments` and waits for it to end.
inline program_result run_program(const std::string& executable, std::vector<std::string> arguments) {
  const scratch_folder outputs;
  const std::string out_file = (outputs.path() / "out").string();
  const std::string err_file = (outputs.path() / "err").string();
  arguments.insert(arguments.begin(), executable);
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  INFO("starting " << executable);
  REQUIRE(spawned == 0);

  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL(executable << " ran for more than a minute");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto read = [](const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(out_file), read(err_file)};
}

}  // namespace comfyq::testing
