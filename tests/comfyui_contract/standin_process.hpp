#pragma once
// comfyui-standin as a child process (COMFYUI_STANDIN_EXECUTABLE), for tests that signal
// or kill it: it prints its port on the first line of stdout.

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace comfyq::testing::contract {

/// A comfyui-standin child process; killed (SIGKILL) if still running at the end.
class standin_process {
 public:
  explicit standin_process(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), COMFYUI_STANDIN_EXECUTABLE);
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    int out[2];
    REQUIRE(pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    stdout_ = out[0];
    REQUIRE(spawned == 0);
  }

  standin_process(const standin_process&) = delete;
  standin_process& operator=(const standin_process&) = delete;

  ~standin_process() {
    if (!status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
  }

  /// The port the process printed, waiting at most 15 s for it.
  unsigned short port() {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd readable{stdout_, POLLIN, 0};
      if (poll(&readable, 1, 100) <= 0) continue;
      char buffer[64];
      const ssize_t count = read(stdout_, buffer, sizeof buffer);
      if (count <= 0) break;
      line.append(buffer, static_cast<std::size_t>(count));
    }
    REQUIRE(line.find('\n') != std::string::npos);
    return static_cast<unsigned short>(std::stoi(line));
  }

  void signal(int number) const { kill(pid_, number); }

  /// The wait status once the process ended, waiting at most 15 s; nullopt if it did not.
  std::optional<int> wait_for_exit() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!status_ && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = status;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return status_;
  }

 private:
  pid_t pid_{};
  int stdout_{-1};
  std::optional<int> status_;
};

}  // namespace comfyq::testing::contract
