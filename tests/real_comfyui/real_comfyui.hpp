#pragma once
// A real ComfyUI 0.8.0 on CPU, started with comfyui-real/start from the shared folder
// (COMFYQ_COMFYUI_REAL_START, from the CMake variable COMFYQ_SHARED_DIR) in a folder of the
// build tree that is kept between runs, so that it is unpacked once and its log can be read
// after a failure. Starting one takes 5-60 s on 2 cores: a test process starts one and shares
// it (shared_comfyui()); a test that kills it restarts it on the same folder and port.
//
// The start script launches ComfyUI in the background and exits, so ComfyUI is not this
// process's child: it is stopped by its pid, and one that a crashed run left behind is found
// by the pid file in its folder and stopped before the next run starts another.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/read_file.hpp"

extern char** environ;

namespace comfyq::testing::real {

/// The last `lines` lines of a text file, for error messages.
inline std::string tail_of(const std::filesystem::path& path, std::size_t lines = 30) {
  const std::string text = read_file(path);
  std::size_t at = text.size();
  for (std::size_t seen = 0; at > 0 && seen <= lines; --at) seen += text[at - 1] == '\n' ? 1 : 0;
  return text.substr(at);
}

/// Every regular file below `root`, relative to it; none when `root` does not exist.
inline std::vector<std::filesystem::path> files_below(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> found;
  if (!std::filesystem::exists(root)) return found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) found.push_back(std::filesystem::relative(entry.path(), root));
  }
  return found;
}

class real_comfyui {
  using clock = std::chrono::steady_clock;

 public:
  /// Starts ComfyUI in `dir` and returns once it answers. Throws std::runtime_error when the start
  /// script is missing (the shared folder is not where the build looks for it) or ComfyUI does not
  /// start, with the script's and ComfyUI's logs.
  explicit real_comfyui(std::filesystem::path dir) : dir_(std::move(dir)) {
    if (::access(COMFYQ_COMFYUI_REAL_START, X_OK) != 0) {
      throw std::runtime_error(
          "the real ComfyUI tests need " COMFYQ_COMFYUI_REAL_START
          ", which is missing or not executable: put the shared folder (with comfyui-real/) beside the "
          "repository, or configure with -DCOMFYQ_SHARED_DIR=<the folder that holds comfyui-real/start>");
    }
    std::filesystem::create_directories(dir_);
    // Another test process using this folder waits until this one is done with it.
    lock_ = ::open((dir_.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_ < 0 || ::flock(lock_, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + dir_.string() + ".lock");
    stop_leftover();
    // Outputs and inputs of earlier runs would be counted as this run's (job ids repeat).
    std::filesystem::remove_all(dir_ / "comfyui" / "output" / "comfyq");
    std::filesystem::remove_all(dir_ / "comfyui" / "input" / "comfyq");
    start(std::nullopt);
  }

  real_comfyui(const real_comfyui&) = delete;
  real_comfyui& operator=(const real_comfyui&) = delete;

  ~real_comfyui() {
    stop();
    if (lock_ >= 0) ::close(lock_);
  }

  unsigned short port() const noexcept { return port_; }
  /// "http://127.0.0.1:<port>"
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// "127.0.0.1:<port>", as comfyq-worker's --comfyui takes it.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const noexcept { return pid_ > 0; }
  /// How long the last start took, until ComfyUI answered.
  std::chrono::milliseconds last_start_time() const noexcept { return start_time_; }

  /// ComfyUI's output folder: what SaveImage wrote, never cleaned by ComfyUI.
  std::filesystem::path output_dir() const { return dir_ / "comfyui" / "output"; }
  /// ComfyUI's log (written again at each start).
  std::filesystem::path log_file() const { return dir_ / "comfyui.log"; }

  /// The files ComfyUI saved for a job, any attempt: below output/comfyq/<tenant>/<job>/, relative
  /// to that folder ("1/out_00001_.png").
  std::vector<std::filesystem::path> outputs_of(const std::string& tenant, const std::string& job) const {
    return files_below(output_dir() / "comfyq" / tenant / job);
  }

  /// How many lines of ComfyUI's log (since its last start) contain `text`.
  std::size_t log_lines_with(const std::string& text) const {
    std::ifstream in(log_file());
    std::size_t count = 0;
    for (std::string line; std::getline(in, line);) count += line.find(text) != std::string::npos ? 1 : 0;
    return count;
  }

  /// Sends `signal` and waits until ComfyUI is gone; SIGKILL is a crash (no clean-up at all).
  void kill(int signal = SIGKILL) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    if (!wait_gone(pid_, std::chrono::seconds(20))) {
      ::kill(pid_, SIGKILL);
      wait_gone(pid_, std::chrono::seconds(10));
    }
    pid_ = -1;
  }

  /// Starts it again on the same folder and port (killing it first if it still runs), as an
  /// operator or a service manager would after a crash; returns once it answers.
  void restart() {
    kill(SIGKILL);
    start(port_);
  }

  /// Stops it as `kill <pid>` does.
  void stop() { kill(SIGTERM); }

 private:
  // A process is gone when it has no /proc entry or is a zombie nobody reaped yet: ComfyUI's
  // parent (the start script) has exited, so whoever adopted it reaps it.
  static bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return false;
    const std::size_t close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z' && text[close + 2] != 'X';
  }

  static bool wait_gone(pid_t pid, clock::duration timeout) {
    const auto deadline = clock::now() + timeout;
    while (alive(pid)) {
      if (clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  std::filesystem::path pid_file() const { return dir_ / "comfyui.pid"; }

  // A ComfyUI an earlier run started in this folder and could not stop (it crashed or was killed).
  void stop_leftover() {
    std::ifstream in(pid_file());
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0) return;
    std::error_code error;
    const auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", error);
    if (error || cwd != std::filesystem::weakly_canonical(dir_ / "comfyui")) return;  // gone, or someone else's now
    ::kill(pid, SIGKILL);
    wait_gone(pid, std::chrono::seconds(10));
  }

  // Runs the start script (which installs ComfyUI's Debian packages on first use, unpacks it
  // into the folder unless it is there, starts it and prints "<pid> <url>" once it answers).
  void start(std::optional<unsigned short> port) {
    std::vector<std::string> arguments{COMFYQ_COMFYUI_REAL_START, "--dir", dir_.string()};
    if (port) arguments.insert(arguments.end(), {"--port", std::to_string(*port)});
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);

    const std::filesystem::path script_log = dir_ / "start.log";
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("real_comfyui: pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, script_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    // ComfyUI inherits what the script has: none of this process's sockets may leak into it.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t script = 0;
    const int spawned = ::posix_spawn(&script, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (spawned != 0) {
      ::close(out[0]);
      throw std::runtime_error("real_comfyui: cannot run " COMFYQ_COMFYUI_REAL_START ": " +
                               std::error_code(spawned, std::generic_category()).message());
    }

    // First use installs python3-torch & co. (scripts/install-deps does it beforehand); then the
    // script waits up to 180 s for ComfyUI to answer.
    const auto started = clock::now();
    const auto deadline = started + std::chrono::minutes(10);
    std::string printed;
    for (;;) {
      pollfd readable{out[0], POLLIN, 0};
      if (clock::now() > deadline) {
        ::kill(script, SIGKILL);
        break;
      }
      if (::poll(&readable, 1, 200) <= 0) continue;
      char buffer[256];
      const ssize_t count = ::read(out[0], buffer, sizeof buffer);
      if (count <= 0) break;
      printed.append(buffer, static_cast<std::size_t>(count));
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(script, &status, 0);

    pid_t pid = 0;
    std::string url;
    std::istringstream(printed) >> pid >> url;
    const std::size_t colon = url.rfind(':');
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || pid <= 0 || colon == std::string::npos) {
      throw std::runtime_error("real_comfyui: " COMFYQ_COMFYUI_REAL_START " did not start ComfyUI in " + dir_.string() +
                               " (printed '" + printed + "'); its log:\n" + tail_of(script_log) +
                               "\nComfyUI's log:\n" + tail_of(log_file()));
    }
    pid_ = pid;
    port_ = static_cast<unsigned short>(std::stoi(url.substr(colon + 1)));
    std::ofstream(pid_file()) << pid_ << "\n";
    start_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  }

  std::filesystem::path dir_;
  int lock_ = -1;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  std::chrono::milliseconds start_time_{};
};

/// The test process's ComfyUI, started on first use in the build tree and stopped at exit.
inline real_comfyui& shared_comfyui() {
  static real_comfyui comfyui(std::filesystem::path(COMFYQ_REAL_COMFYUI_WORK_DIR) / "comfyui");
  return comfyui;
}

}  // namespace comfyq::testing::real
