#pragma once
// A redis-server of a program's own: started in a folder it alone uses, reached only through a
// Unix socket there, writing every change to its append-only file and fsyncing it before it
// answers, stopped with the object, and gone when the program dies however it dies. What
// comfyq-server keeps its queue in when no outside Redis is given. Linux only (prctl).
//
//   <dir>/redis.conf      written at each start
//   <dir>/redis.sock      the socket (mode 0700: only this user reaches it)
//   <dir>/appendonlydir/  the AOF, replayed by Redis when it starts; Redis compacts it itself
//   <dir>/redis.log       what redis-server says, including why it did not start
//   <dir>/redis.pid       its process id while it runs
//   <dir>/redis.lock      held while a program uses the folder: two cannot share one

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "comfyq/errors.hpp"
#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/connection_options.hpp"
#include "comfyq/redis/detail/socket.hpp"

namespace comfyq::redis {

/// Where a private_server keeps its data, which redis-server it runs, and how long it waits.
struct private_server_options {
  /// The server's folder, made if missing; nothing else may use it.
  std::filesystem::path dir{};
  /// redis-server's path; empty: the first redis-server on PATH, else /usr/bin/redis-server.
  std::filesystem::path executable{};
  /// How long it may take to answer after starting: replaying a large AOF takes a while.
  std::chrono::milliseconds start_timeout{60'000};
  /// How long a stop may take before the process is killed (SIGKILL loses nothing acknowledged:
  /// every write is on disk before its reply).
  std::chrono::milliseconds stop_timeout{30'000};

  std::filesystem::path socket_path() const { return std::filesystem::absolute(dir) / "redis.sock"; }
  std::filesystem::path log_path() const { return std::filesystem::absolute(dir) / "redis.log"; }

  /// Throws invalid_input naming the field that cannot work ("dir": also when the socket's path
  /// would be too long for a Unix socket).
  void validate() const {
    if (dir.empty()) throw invalid_input("dir", "is empty; give the folder the private redis-server keeps its data in");
    const std::string socket = socket_path().string();
    if (socket.size() >= sizeof(sockaddr_un::sun_path)) {
      throw invalid_input("dir", "'" + socket + "' is " + std::to_string(socket.size()) +
                                     " bytes long, too long for a Unix socket (at most " +
                                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) + "); use a shorter path");
    }
    if (start_timeout <= std::chrono::milliseconds::zero()) throw invalid_input("start_timeout", "must be positive");
    if (stop_timeout <= std::chrono::milliseconds::zero()) throw invalid_input("stop_timeout", "must be positive");
  }
};

/// A redis-server child process with the AOF on and `appendfsync always`, in its own folder.
///
///     comfyq::redis::private_server redis({.dir = data / "redis"});
///     comfyq::redis::store queue(redis.connection_options(), {});
///
/// The constructor returns once Redis answers PING, its AOF replayed. It runs in a session of its
/// own (a Ctrl-C in the terminal does not reach it) and receives SIGTERM when the thread that
/// started it ends, so a program killed with SIGKILL leaves no redis-server behind: start it from
/// the thread that lives as long as the program (main). The destructor stops it with SIGTERM;
/// Redis flushes and exits. A redis-server left on the socket by an earlier program that died is
/// told to SHUTDOWN before the new one starts; a stale socket file is removed. Everything that
/// keeps it from starting throws store_unavailable, naming the log to read.
class private_server {
 public:
  explicit private_server(private_server_options options) : options_(std::move(options)) {
    options_.validate();
    options_.dir = std::filesystem::absolute(options_.dir);
    options_.executable = find_executable(options_.executable);
    std::error_code made;
    std::filesystem::create_directories(options_.dir, made);
    if (made) throw unavailable("cannot create " + options_.dir.string() + " (" + made.message() + ")");
    std::filesystem::permissions(options_.dir, std::filesystem::perms::owner_all, made);
    lock_folder();
    try {
      stop_leftover();
      write_config();
      start();
    } catch (...) {
      ::close(lock_);
      throw;
    }
  }

  private_server(const private_server&) = delete;
  private_server& operator=(const private_server&) = delete;

  ~private_server() {
    stop();
    ::close(lock_);
  }

  /// Options that reach this server (its socket, no password: the folder's mode keeps others out).
  comfyq::redis::connection_options connection_options() const {
    return {.socket = options_.socket_path().string()};
  }
  const private_server_options& options() const noexcept { return options_; }
  /// The process id of redis-server while it runs, else -1.
  pid_t pid() const noexcept { return pid_; }

  /// Whether redis-server still runs (false once it exited, for whatever reason).
  bool running() {
    if (pid_ > 0 && ::waitpid(pid_, &exit_status_, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }

  /// SIGTERM, then waits for the exit (SIGKILL after stop_timeout). Does nothing once stopped.
  void stop() noexcept {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout;
    while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  /// Whether anything accepts connections on the Unix socket at `path` now.
  static bool accepts_connections(const std::filesystem::path& path) {
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path.string();
    if (text.size() >= sizeof address.sun_path) {
      ::close(probe);
      return false;
    }
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    const bool accepted = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    return accepted;
  }

 private:
  std::filesystem::path config_path() const { return options_.dir / "redis.conf"; }
  std::filesystem::path lock_path() const { return options_.dir / "redis.lock"; }

  store_unavailable unavailable(const std::string& problem) const {
    return store_unavailable("private redis-server in " + options_.dir.string() + ": " + problem);
  }

  static std::string tail_of_log(const std::filesystem::path& log) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr std::size_t shown = 2000;
    if (text.size() > shown) text = "..." + text.substr(text.size() - shown);
    return text;
  }

  static bool executable_file(const std::filesystem::path& path) {
    return std::filesystem::is_regular_file(path) && ::access(path.c_str(), X_OK) == 0;
  }

  std::filesystem::path find_executable(const std::filesystem::path& given) const {
    constexpr std::string_view install = "install it: apt-get install redis-server (scripts/install-deps does)";
    if (!given.empty()) {
      if (executable_file(given)) return given;
      throw unavailable(given.string() + " is not an executable redis-server; " + std::string(install));
    }
    const char* path = std::getenv("PATH");
    std::string_view folders = path == nullptr ? "" : path;
    while (!folders.empty()) {
      const std::size_t colon = folders.find(':');
      const std::string_view folder = folders.substr(0, colon);
      folders = colon == std::string_view::npos ? std::string_view{} : folders.substr(colon + 1);
      if (folder.empty()) continue;
      const std::filesystem::path candidate = std::filesystem::path(folder) / "redis-server";
      if (executable_file(candidate)) return candidate;
    }
    for (const char* fallback : {"/usr/bin/redis-server", "/usr/sbin/redis-server"}) {
      if (executable_file(fallback)) return fallback;
    }
    throw unavailable("redis-server is not installed (not on PATH, nor in /usr/bin); " + std::string(install));
  }

  // flock, not a pid file: the kernel drops it when the program dies, SIGKILL included, so a
  // folder whose lock is free has no program left that uses its redis-server.
  void lock_folder() {
    lock_ = ::open(lock_path().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_ < 0) throw unavailable("cannot open " + lock_path().string() + " (" + std::strerror(errno) + ")");
    if (::flock(lock_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_);
      throw unavailable("another program uses this folder (it holds " + lock_path().string() +
                        "); two servers cannot share one data folder: stop the other, or give each its own");
    }
  }

  // A redis-server that outlived the program that started it (normally it got SIGTERM then and
  // is on its way out) must be gone before another one binds the socket: Redis replaces the
  // socket file without asking, and two servers appending to one AOF would ruin it.
  void stop_leftover() {
    const std::filesystem::path socket = options_.socket_path();
    if (accepts_connections(socket)) {
      send_shutdown(socket);
      const auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout;
      while (accepts_connections(socket)) {
        if (std::chrono::steady_clock::now() > deadline) {
          throw unavailable("a redis-server from an earlier start still answers on " + socket.string() +
                            " and did not shut down within " + std::to_string(options_.stop_timeout.count()) +
                            " ms; stop it (its process id is in " + (options_.dir / "redis.pid").string() + ")");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    std::error_code ignored;
    std::filesystem::remove(socket, ignored);
  }

  // SHUTDOWN without PING first: Redis takes it even while it loads its AOF. Its answer, if any,
  // does not matter: whether the socket goes away does.
  void send_shutdown(const std::filesystem::path& socket) const {
    const timeval timeout{.tv_sec = 1, .tv_usec = 0};
    redisContext* context = redisConnectUnixWithTimeout(socket.c_str(), timeout);
    if (context == nullptr) return;
    if (context->err == 0 && redisSetTimeout(context, timeout) == REDIS_OK) {
      constexpr std::string_view shutdown = "*1\r\n$8\r\nSHUTDOWN\r\n";
      if (!detail::send_all(context->fd, shutdown.data(), shutdown.size())) {
        void* answer = nullptr;
        if (redisGetReply(context, &answer) == REDIS_OK) freeReplyObject(answer);
      }
    }
    redisFree(context);
  }

  // A quoted redis.conf argument: a path may hold spaces.
  static std::string quoted(const std::filesystem::path& path) {
    std::string text = "\"";
    for (char c : path.string()) {
      if (c == '"' || c == '\\') text += '\\';
      text += c;
    }
    return text + "\"";
  }

  void write_config() const {
    std::ofstream config(config_path(), std::ios::trunc);
    config << "# Written at each start of the program that runs this redis-server; edits are overwritten.\n"
           << "daemonize no\n"
           << "port 0\n"
           << "unixsocket " << quoted(options_.socket_path()) << "\n"
           << "unixsocketperm 700\n"
           << "dir " << quoted(options_.dir) << "\n"
           << "logfile " << quoted(options_.log_path()) << "\n"
           << "pidfile " << quoted(options_.dir / "redis.pid") << "\n"
           << "save \"\"\n"
           << "appendonly yes\n"
           << "appendfsync always\n"
           << "auto-aof-rewrite-percentage 100\n"
           << "auto-aof-rewrite-min-size 64mb\n";
    if (!config.flush()) throw unavailable("cannot write " + config_path().string());
  }

  void start() {
    const std::string executable = options_.executable.string();
    const std::string config = config_path().string();
    // Everything the child needs is made before fork: between fork and exec only
    // async-signal-safe calls are allowed (the program may have threads).
    const int log = ::open(options_.log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) throw unavailable("cannot open " + options_.log_path().string() + " (" + std::strerror(errno) + ")");
    const int nothing = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    char* const argv[] = {const_cast<char*>(executable.c_str()), const_cast<char*>(config.c_str()), nullptr};
    const pid_t parent = ::getpid();
    sigset_t none;
    sigemptyset(&none);

    const pid_t child = ::fork();
    if (child == 0) {
      ::setsid();  // no terminal signals: the program stops it when it is done with it
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);  // the program died before prctl
      ::sigprocmask(SIG_SETMASK, &none, nullptr);  // a program may block SIGTERM; Redis must not
      if (nothing >= 0) ::dup2(nothing, STDIN_FILENO);
      ::dup2(log, STDOUT_FILENO);  // what Redis says before it opens its logfile
      ::dup2(log, STDERR_FILENO);
      ::close_range(3, ~0U, 0);
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    ::close(log);
    if (nothing >= 0) ::close(nothing);
    if (child < 0) throw unavailable(std::string("cannot start ") + executable + " (fork: " + std::strerror(errno) + ")");
    pid_ = child;
    wait_until_ready();
  }

  void wait_until_ready() {
    comfyq::redis::connection_options probe = connection_options();
    probe.connect_timeout = std::chrono::milliseconds(1000);
    probe.reconnect.attempts = 1;
    const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
    while (true) {
      if (!running()) {
        const std::string how = WIFEXITED(exit_status_) ? "with status " + std::to_string(WEXITSTATUS(exit_status_))
                                                        : "on signal " + std::to_string(WTERMSIG(exit_status_));
        throw unavailable(options_.executable.string() + " exited at start " + how + "; its log, " +
                          options_.log_path().string() + ", says:\n" + tail_of_log(options_.log_path()));
      }
      try {
        // The connection's login ends with a PING, which a Redis still replaying its AOF answers
        // with LOADING: that counts as not ready.
        comfyq::redis::connection answering(probe);
        return;
      } catch (const store_unavailable&) {
      }
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw unavailable("no answer on " + options_.socket_path().string() + " within " +
                          std::to_string(options_.start_timeout.count()) + " ms; see " + options_.log_path().string() +
                          ":\n" + tail_of_log(options_.log_path()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  private_server_options options_;
  int lock_{-1};
  pid_t pid_{-1};
  int exit_status_{0};
};

}  // namespace comfyq::redis
