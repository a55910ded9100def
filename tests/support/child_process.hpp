#pragma once
// A program the test runs as a child process, to signal or kill it like an operator (or the
// OOM killer) would: its stdout comes back through a pipe, its stderr goes to a file when one
// is given (a worker's log, kept for a failing test's report). Killed (SIGKILL) at the end if
// it still runs.

#include <catch2/catch.hpp>

#include <fcntl.h>
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

namespace comfyq::testing {

class child_process {
 public:
  child_process(const std::string& executable, std::vector<std::string> arguments, const std::string& stderr_file = "") {
    arguments.insert(arguments.begin(), executable);
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    int out[2];
    REQUIRE(pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    if (!stderr_file.empty()) {
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    stdout_ = out[0];
    REQUIRE(spawned == 0);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  ~child_process() {
    if (!status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
  }

  /// The first line the process printed, waiting at most 15 s for it (the test fails if none comes).
  std::string first_line() {
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
    return line.substr(0, line.find('\n'));
  }

  void signal(int number) const { kill(pid_, number); }

  /// The wait status once the process ended, waiting at most `timeout`; nullopt if it did not.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
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

}  // namespace comfyq::testing
