#pragma once
// One synchronous connection to Redis: a hiredis redisContext with comfyq's failure rules.

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <hiredis/hiredis.h>

#include "comfyq/backoff.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/redis/connection_options.hpp"
#include "comfyq/redis/detail/socket.hpp"
#include "comfyq/redis/function_library.hpp"
#include "comfyq/redis/reply.hpp"
#include "comfyq/redis/script.hpp"

namespace comfyq::redis {

/// One connection to one Redis server, used by one thread at a time (comfyq::redis::pool gives
/// each thread its own).
///
///     comfyq::redis::connection redis(comfyq::redis::connection_options::from_url(url));
///     redis.command({"SET", key, value}).expect_ok();
///     std::optional<std::string_view> value = redis.command({"GET", key}).string_or_nil();
///
/// Redis error replies are values (reply::is_error); the typed accessors of reply throw them.
/// When the connection itself fails, the call throws comfyq::store_unavailable, says whether the
/// command was sent ("may or may not have run") or not ("did not run"), and drops the socket.
/// Nothing is ever resent: a script that may have run once must not run twice. The next call
/// connects again, retrying per connection_options::reconnect, so it either works or fails within
/// bounded time. An idle connection that Redis closed (a restart, a client timeout) is noticed
/// before sending, and replaced without any failure. Refused credentials or database are
/// comfyq::invalid_input: retrying would not help. Request and reply only: no SUBSCRIBE or MONITOR
/// (Redis would speak unasked); wait for events with XREAD BLOCK and command_with_timeout.
class connection {
 public:
  /// Connects now (retrying per options.reconnect), logs in and selects the database. Throws
  /// invalid_input for unusable options or refused credentials, store_unavailable when Redis
  /// cannot be reached.
  explicit connection(connection_options options) : options_(std::move(options)) {
    options_.validate();
    connect("");
  }

  /// Runs one command, binary safe: each element of `argv` is one argument, sent as is.
  reply command(std::span<const std::string_view> argv) { return run(argv, options_.command_timeout, {}); }
  reply command(std::initializer_list<std::string_view> argv) { return command(std::span(argv.begin(), argv.size())); }

  /// Runs a command that blocks in Redis for up to `block_time` (BLPOP, XREAD BLOCK, ...): waits
  /// for its reply block_time + command_timeout instead of command_timeout. `block_time` is what
  /// the command's own arguments ask Redis to wait; pass it here as well.
  reply command_with_timeout(std::span<const std::string_view> argv, std::chrono::milliseconds block_time) {
    return run(argv, block_time + options_.command_timeout, {});
  }
  reply command_with_timeout(std::initializer_list<std::string_view> argv, std::chrono::milliseconds block_time) {
    return command_with_timeout(std::span(argv.begin(), argv.size()), block_time);
  }

  /// Runs `lua` with EVALSHA. If this Redis does not have it cached (NOSCRIPT: Redis restarted or
  /// SCRIPT FLUSH ran), nothing ran, so it loads the script and tries once more. What the script
  /// returns, an error reply from redis.error_reply included, is the reply.
  reply eval(const script& lua, std::span<const std::string_view> keys, std::span<const std::string_view> args);
  reply eval(const script& lua, std::initializer_list<std::string_view> keys, std::initializer_list<std::string_view> args) {
    return eval(lua, std::span(keys.begin(), keys.size()), std::span(args.begin(), args.size()));
  }

  /// Runs `function` with FCALL. If this Redis does not have its library (a Redis that restarted
  /// without its data, FUNCTION FLUSH), nothing ran, so it loads the library and tries once more.
  /// What the function returns, an error reply from redis.error_reply included, is the reply.
  reply fcall(const library_function& function, std::span<const std::string_view> keys,
              std::span<const std::string_view> args);
  reply fcall(const library_function& function, std::initializer_list<std::string_view> keys,
              std::initializer_list<std::string_view> args) {
    return fcall(function, std::span(keys.begin(), keys.size()), std::span(args.begin(), args.size()));
  }

  /// Whether the connection holds a socket now: false after a failure until the next call reconnects.
  bool connected() const noexcept { return context_ != nullptr; }
  const connection_options& options() const noexcept { return options_; }

 private:
  struct free_context {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
  };
  struct free_command {
    void operator()(char* command) const noexcept { redisFreeCommand(command); }
  };
  // How an exchange with Redis failed; the socket is gone by then.
  struct failure {
    std::string problem;
    bool sent{false};
    bool timed_out{false};
  };

  std::string where() const { return "redis at " + options_.address(); }

  static timeval to_timeval(std::chrono::milliseconds duration) {
    return timeval{.tv_sec = static_cast<time_t>(duration.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>(duration.count() % 1000 * 1000)};
  }

  reply run(std::span<const std::string_view> argv, std::chrono::milliseconds timeout, std::string_view label);
  void connect(std::string_view consequence);
  std::optional<std::string> try_connect();
  std::optional<std::string> log_in();
  std::optional<std::string> log_in_step(std::span<const std::string_view> argv);
  std::variant<reply, failure> exchange(std::span<const std::string_view> argv);
  std::string explain(const failure& lost, std::string_view what, std::chrono::milliseconds timeout) const;

  connection_options options_;
  std::unique_ptr<redisContext, free_context> context_;
};

inline reply connection::eval(const script& lua, std::span<const std::string_view> keys,
                              std::span<const std::string_view> args) {
  const std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> argv{"EVALSHA", lua.sha1(), key_count};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string label = "EVALSHA of script " + std::string(lua.name());
  reply answer = run(argv, options_.command_timeout, label);
  if (answer.is_error_code("NOSCRIPT")) {
    // SCRIPT LOAD rather than EVAL: Redis never evicts a script loaded this way, while newer
    // versions (7.4) evict scripts that EVAL cached once there are more than 500.
    const std::string_view load[] = {"SCRIPT", "LOAD", lua.source()};
    reply loaded = run(load, options_.command_timeout, "SCRIPT LOAD of script " + std::string(lua.name()));
    if (loaded.is_error()) return loaded;
    answer = run(argv, options_.command_timeout, label);
  }
  return answer;
}

inline reply connection::fcall(const library_function& function, std::span<const std::string_view> keys,
                               std::span<const std::string_view> args) {
  const std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> argv{"FCALL", function.registered_name(), key_count};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string label = "FCALL of function " + std::string(function.name());
  reply answer = run(argv, options_.command_timeout, label);
  if (answer.is_error() && answer.error_message() == "ERR Function not found") {
    const function_library& library = function.library();
    const std::string_view load[] = {"FUNCTION", "LOAD", library.source()};
    reply loaded = run(load, options_.command_timeout, "FUNCTION LOAD of library " + library.name());
    // Another process may have loaded the same library since: it holds the same code.
    if (loaded.is_error() && loaded.error_message().find("already exists") == std::string_view::npos) return loaded;
    answer = run(argv, options_.command_timeout, label);
  }
  return answer;
}

// `label` names the command in messages; empty means its first word (never the arguments: they
// may be passwords or user data).
inline reply connection::run(std::span<const std::string_view> argv, std::chrono::milliseconds timeout,
                             std::string_view label) {
  if (argv.empty()) throw invalid_input("argv", "is empty; a Redis command starts with its name, e.g. {\"PING\"}");
  const std::string what(label.empty() ? argv.front() : label);
  if (context_ && detail::idle_connection_closed(context_->fd)) context_.reset();
  if (!context_) connect("; " + what + " was not sent");

  const bool own_timeout = timeout != options_.command_timeout;
  if (own_timeout && redisSetTimeout(context_.get(), to_timeval(timeout)) != REDIS_OK) {
    const std::string problem = context_->errstr;
    context_.reset();
    throw store_unavailable(where() + ": cannot set the socket timeout (" + problem + "); " + what + " was not sent");
  }
  std::variant<reply, failure> result = exchange(argv);
  if (const failure* lost = std::get_if<failure>(&result)) throw store_unavailable(explain(*lost, what, timeout));
  // Should the usual timeout not come back, the next call starts over on a fresh socket.
  if (own_timeout && redisSetTimeout(context_.get(), to_timeval(options_.command_timeout)) != REDIS_OK) context_.reset();
  return std::get<reply>(std::move(result));
}

inline void connection::connect(std::string_view consequence) {
  // Growing, so a Redis that is down is not hammered; jittered, so the many workers and servers
  // that lost the same Redis do not reconnect in lockstep.
  comfyq::backoff delays({.initial = options_.reconnect.initial_delay, .max = options_.reconnect.max_delay, .factor = 2.0});
  std::minstd_rand random(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + options_.reconnect.window;
  std::string problem;
  int attempts = 0;
  while (true) {
    ++attempts;
    std::optional<std::string> attempt_problem = try_connect();
    if (!attempt_problem) return;
    problem = std::move(*attempt_problem);
    const std::chrono::milliseconds delay = delays.next(unit(random));
    if (attempts >= options_.reconnect.attempts || std::chrono::steady_clock::now() + delay >= deadline) break;
    std::this_thread::sleep_for(delay);
  }
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  throw store_unavailable(where() + ": cannot connect (" + problem + "), gave up after " + std::to_string(attempts) +
                          (attempts == 1 ? " attempt" : " attempts") + " in " + std::to_string(elapsed.count()) +
                          " ms" + std::string(consequence) +
                          ". Is redis-server running there? Check the Redis URL (--redis).");
}

// One attempt: a socket, the command timeout on it, and the login. Returns why it did not work
// when trying again later could help; throws invalid_input when it could not.
inline std::optional<std::string> connection::try_connect() {
  context_.reset(options_.socket.empty()
                     ? redisConnectWithTimeout(options_.host.c_str(), options_.port, to_timeval(options_.connect_timeout))
                     : redisConnectUnixWithTimeout(options_.socket.c_str(), to_timeval(options_.connect_timeout)));
  if (!context_) return "hiredis could not allocate a connection";
  if (context_->err != 0 || redisSetTimeout(context_.get(), to_timeval(options_.command_timeout)) != REDIS_OK) {
    std::string problem = context_->errstr;
    context_.reset();
    return problem;
  }
  return log_in();
}

// AUTH, SELECT and a PING before the connection is handed out, so wrong credentials or a wrong
// database surface here, and a Redis still loading its data (LOADING) counts as not up yet.
inline std::optional<std::string> connection::log_in() {
  if (options_.password) {
    std::vector<std::string_view> auth{"AUTH"};
    if (options_.user) auth.emplace_back(*options_.user);
    auth.emplace_back(*options_.password);
    if (auto problem = log_in_step(auth)) return problem;
  }
  if (options_.db != 0) {
    const std::string db = std::to_string(options_.db);
    const std::string_view select[] = {"SELECT", db};
    if (auto problem = log_in_step(select)) return problem;
  }
  const std::string_view ping[] = {"PING"};
  return log_in_step(ping);
}

inline std::optional<std::string> connection::log_in_step(std::span<const std::string_view> argv) {
  std::variant<reply, failure> result = exchange(argv);
  if (const failure* lost = std::get_if<failure>(&result)) return lost->problem;
  const reply& answer = std::get<reply>(result);
  if (!answer.is_error()) return std::nullopt;

  // Only errors that name the credentials or the database are the options' fault; anything else
  // (LOADING, "max number of clients reached", which Redis sends right after accepting) may pass.
  const std::string step(argv.front());
  const std::string message(answer.error_message());
  const std::string as_user = options_.user ? " as user '" + *options_.user + "'" : "";
  if (answer.is_error_code("NOAUTH")) {
    context_.reset();
    throw invalid_input("password", where() + " requires a password (" + message +
                                        "); give it in the Redis URL: redis://[user]:password@host:port");
  }
  if (step == "AUTH" && (answer.is_error_code("WRONGPASS") || message.find("password") != std::string::npos)) {
    context_.reset();
    throw invalid_input("password", where() + " refused AUTH" + as_user + " (" + message +
                                        "); check the user and password in the Redis URL");
  }
  if (answer.is_error_code("NOPERM")) {
    context_.reset();
    throw invalid_input("user", where() + ": the user" + as_user + " may not run " + step + " (" + message +
                                    "); grant it with ACL SETUSER");
  }
  if (step == "SELECT" && (message.find("DB index") != std::string::npos || message.find("SELECT") != std::string::npos)) {
    context_.reset();
    throw invalid_input("db", where() + " refused SELECT " + std::string(argv[1]) + " (" + message +
                                  "); use a database the server has (0 up to its `databases` setting minus 1; "
                                  "Redis Cluster has only 0)");
  }
  context_.reset();
  return "answered " + step + " with " + message;
}

// Sends one command and reads its reply. The command goes out through detail::send_all (no
// SIGPIPE); hiredis, whose output buffer stays empty, only reads. On failure the socket is dropped:
// a reply that arrives late would otherwise answer the next command.
inline std::variant<reply, connection::failure> connection::exchange(std::span<const std::string_view> argv) {
  std::vector<const char*> starts;
  std::vector<std::size_t> lengths;
  starts.reserve(argv.size());
  lengths.reserve(argv.size());
  for (std::string_view argument : argv) {
    starts.push_back(argument.empty() ? "" : argument.data());
    lengths.push_back(argument.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), starts.data(), lengths.data());
  if (length < 0) throw std::bad_alloc();
  const std::unique_ptr<char, free_command> owned_command(formatted);

  if (std::optional<std::string> problem = detail::send_all(context_->fd, formatted, static_cast<std::size_t>(length))) {
    context_.reset();
    return failure{.problem = std::move(*problem), .sent = false, .timed_out = false};
  }
  void* raw = nullptr;
  if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
    const int read_error = errno;
    // hiredis reports a receive timeout (SO_RCVTIMEO) as an I/O error with errno EAGAIN.
    const bool timed_out = context_->err == REDIS_ERR_IO && (read_error == EAGAIN || read_error == EWOULDBLOCK);
    std::string problem = context_->errstr;
    context_.reset();
    return failure{.problem = std::move(problem), .sent = true, .timed_out = timed_out};
  }
  return reply(static_cast<redisReply*>(raw));
}

inline std::string connection::explain(const failure& lost, std::string_view what,
                                       std::chrono::milliseconds timeout) const {
  const std::string subject = where() + ": " + std::string(what);
  const std::string check = " Is redis-server running there? Check the Redis URL (--redis).";
  if (!lost.sent) {
    return subject + " was not sent (" + lost.problem + "), so it did not run; the next call reconnects." + check;
  }
  if (lost.timed_out) {
    return subject + " got no reply within " + std::to_string(timeout.count()) +
           " ms; it may or may not have run, and it is not resent; the next call reconnects. If Redis is only slow, "
           "raise command_timeout.";
  }
  return subject + " got no reply (" + lost.problem +
         "); it may or may not have run, and it is not resent; the next call reconnects." + check;
}

}  // namespace comfyq::redis
