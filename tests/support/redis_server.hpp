#pragma once
// A private redis-server for tests: its own free loopback port and its own temporary directory,
// started with fork/exec (not --daemonize, which returns before the server listens), killed and
// removed with the object. Tests never touch a Redis they did not start.
//
// COMFYQ_REDIS_SERVER_EXECUTABLE (the path of redis-server) comes from tests/CMakeLists.txt.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "comfyq/redis/connection_options.hpp"

namespace comfyq::testing {

/// How a test's redis-server is configured. Nothing is ever saved as RDB (`save ""`).
struct redis_server_options {
  enum class fsync { always, everysec };
  /// An ACL user with every permission, for logging in with a user name.
  struct acl_user {
    std::string name{};
    std::string password{};
  };

  bool appendonly{false};
  /// Listens on a Unix socket too (socket_path(), mode 0700), beside its loopback port.
  bool unix_socket{false};
  fsync appendfsync{fsync::everysec};
  /// The default user's password (requirepass).
  std::optional<std::string> requirepass{};
  std::optional<acl_user> user{};
  /// More redis.conf lines, written after the ones above, e.g. "cluster-enabled yes".
  std::vector<std::string> extra_config{};
};

class redis_server {
 public:
  /// Starts the server and returns once it answers PING; throws std::runtime_error (with the
  /// server's log) if it does not within a few seconds.
  explicit redis_server(redis_server_options options = {}) : options_(std::move(options)) {
    char pattern[] = "/tmp/comfyq-redis-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("redis_server: cannot create a temporary directory");
    dir_ = pattern;
    try {
      // A port found free can be taken by someone else before redis-server binds it: try another.
      for (int attempt = 1;; ++attempt) {
        port_ = free_loopback_port();
        if (start(attempt < 5)) break;
      }
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      throw;
    }
  }

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  ~redis_server() {
    kill();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  int port() const noexcept { return port_; }
  bool running() const noexcept { return pid_ > 0; }
  /// The directory that holds the config, the log and the append-only files.
  const std::filesystem::path& dir() const noexcept { return dir_; }

  /// Options that reach this server as the default user (with requirepass if it has one).
  comfyq::redis::connection_options connection_options() const {
    comfyq::redis::connection_options options;
    options.port = port_;
    options.password = options_.requirepass;
    return options;
  }

  /// The Unix socket it listens on with redis_server_options::unix_socket.
  std::filesystem::path socket_path() const { return dir_ / "redis.sock"; }

  /// Options that reach this server through its Unix socket (needs unix_socket).
  comfyq::redis::connection_options socket_connection_options() const {
    comfyq::redis::connection_options options = connection_options();
    options.socket = socket_path().string();
    return options;
  }

  /// SIGKILL, as a crash or an OOM kill would: no shutdown, no final fsync.
  void kill() { end(SIGKILL); }

  /// SIGTERM: Redis shuts down cleanly (flushes the AOF) and exits.
  void stop() { end(SIGTERM); }

  /// Starts the server again on the same port and directory, so its AOF (if any) is replayed;
  /// stops it first if it is running.
  void restart() {
    stop();
    start(false);
  }

  /// A loopback TCP port that is free now, e.g. for a cluster bus ("cluster-port <port>" in
  /// extra_config: by default the bus takes port + 10000, which fails for ports above 55535).
  static int free_loopback_port() {
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    if (probe < 0) throw std::runtime_error("redis_server: cannot open a socket to find a free port");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    const bool found = ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                       ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(probe);
    if (!found) throw std::runtime_error("redis_server: cannot find a free loopback port");
    return ntohs(address.sin_port);
  }

 private:
  std::filesystem::path config_path() const { return dir_ / "redis.conf"; }
  std::filesystem::path log_path() const { return dir_ / "redis.log"; }
  std::filesystem::path output_path() const { return dir_ / "redis.out"; }

  void write_config() const {
    std::ofstream config(config_path());
    config << "bind 127.0.0.1\n"
           << "port " << port_ << "\n"
           << "daemonize no\n"
           << "dir " << dir_.string() << "\n"
           << "logfile " << log_path().string() << "\n"
           << "save \"\"\n"
           << "appendonly " << (options_.appendonly ? "yes" : "no") << "\n"
           << "appendfsync "
           << (options_.appendfsync == redis_server_options::fsync::always ? "always" : "everysec") << "\n";
    if (options_.unix_socket) config << "unixsocket " << socket_path().string() << "\nunixsocketperm 700\n";
    if (options_.requirepass) config << "requirepass " << *options_.requirepass << "\n";
    if (options_.user) config << "user " << options_.user->name << " on >" << options_.user->password << " ~* &* +@all\n";
    for (const std::string& line : options_.extra_config) config << line << "\n";
    if (!config) throw std::runtime_error("redis_server: cannot write " + config_path().string());
  }

  // Starts redis-server and waits for PONG. Returns false if it exited because the port was
  // taken and `may_retry_port`; throws for any other failure.
  bool start(bool may_retry_port) {
    write_config();
    const std::string executable = COMFYQ_REDIS_SERVER_EXECUTABLE;
    const std::string config = config_path().string();
    // Everything the child needs is made before fork: between fork and exec only
    // async-signal-safe calls are allowed (the test process may have threads).
    const int output = ::open(output_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (output < 0) throw std::runtime_error("redis_server: cannot open " + output_path().string());
    char* const argv[] = {const_cast<char*>(executable.c_str()), const_cast<char*>(config.c_str()), nullptr};
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ == 0) {
      // The server dies with the test process, even one that crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(output, STDOUT_FILENO);
      ::dup2(output, STDERR_FILENO);
      ::close_range(3, ~0U, 0);  // no test sockets leak into the server
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    ::close(output);
    if (pid_ < 0) {
      pid_ = -1;
      throw std::runtime_error("redis_server: fork failed");
    }
    return wait_until_ready(may_retry_port);
  }

  bool wait_until_ready(bool may_retry_port) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(10);
    while (clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        const std::string log = read(log_path()) + read(output_path());
        if (may_retry_port && log.find("Address already in use") != std::string::npos) return false;
        throw std::runtime_error("redis_server: " COMFYQ_REDIS_SERVER_EXECUTABLE " exited on port " +
                                 std::to_string(port_) + ":\n" + log);
      }
      if (answers_ping()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
    throw std::runtime_error("redis_server: no PONG within 10 s from the server on port " + std::to_string(port_) +
                             ":\n" + read(log_path()) + read(output_path()));
  }

  // PONG, not just any answer: while it replays its AOF, Redis answers LOADING.
  bool answers_ping() const {
    redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeval{.tv_sec = 0, .tv_usec = 200'000});
    if (context == nullptr) return false;
    bool pong = false;
    if (context->err == 0 && redisSetTimeout(context, timeval{.tv_sec = 1, .tv_usec = 0}) == REDIS_OK) {
      bool logged_in = true;
      if (options_.requirepass) {
        auto* auth = static_cast<redisReply*>(redisCommand(context, "AUTH %s", options_.requirepass->c_str()));
        logged_in = auth != nullptr && auth->type == REDIS_REPLY_STATUS;
        if (auth != nullptr) freeReplyObject(auth);
      }
      if (logged_in) {
        auto* reply = static_cast<redisReply*>(redisCommand(context, "PING"));
        pong = reply != nullptr && reply->type == REDIS_REPLY_STATUS && std::string(reply->str, reply->len) == "PONG";
        if (reply != nullptr) freeReplyObject(reply);
      }
    }
    redisFree(context);
    return pong;
  }

  void end(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

  static std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  redis_server_options options_;
  std::filesystem::path dir_;
  int port_{0};
  pid_t pid_{-1};
};

/// A server started on first use and shared by the tests of this process that just need "a
/// Redis" (no password, no AOF). Never kill or restart it: start a redis_server of your own for
/// that. Keep tests apart on it with unique_queue_name().
inline redis_server& shared_redis() {
  static redis_server server;
  return server;
}

}  // namespace comfyq::testing
