#pragma once
// Where and how comfyq reaches Redis: address, credentials, database, timeouts and reconnects.
// Set in code, or parsed from a redis:// or unix:// URL (what the --redis options of the programs
// take).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <sys/un.h>

#include "comfyq/errors.hpp"
#include "comfyq/util/percent_decode.hpp"

namespace comfyq::redis {

/// How a connection that has no working socket tries to get one: up to `attempts` connects within
/// `window`, waiting between them an exponentially growing, jittered delay from `initial_delay` up
/// to `max_delay`; after that the call fails with store_unavailable. It never waits forever: a
/// connect that starts inside the window can overrun it by at most connect_timeout.
struct reconnect_policy {
  std::chrono::milliseconds initial_delay{50};
  std::chrono::milliseconds max_delay{2000};
  int attempts{8};
  std::chrono::milliseconds window{10000};
};

/// Everything a comfyq::redis::connection needs to reach one Redis server.
struct connection_options {
  std::string host{"127.0.0.1"};
  int port{6379};
  /// The path of Redis's Unix socket (its `unixsocket` setting); when set, the connection goes
  /// there and host and port are not used.
  std::string socket{};
  /// ACL user (Redis 6+); unset logs in as the default user (with `password` if one is set).
  std::optional<std::string> user{};
  std::optional<std::string> password{};
  /// Logical database, selected after connecting (Redis Cluster has only 0).
  int db{0};
  std::chrono::milliseconds connect_timeout{2000};
  /// How long one command may take before the connection gives up on it (see
  /// connection::command_with_timeout for blocking commands).
  std::chrono::milliseconds command_timeout{5000};
  reconnect_policy reconnect{};

  /// Options from "redis://[user[:password]@]host[:port][/db]"; the user and password may be
  /// percent-encoded (%40 for '@'), an IPv6 host goes in brackets. "unix:///path/to/redis.sock"
  /// reaches Redis through its Unix socket (an absolute path, nothing else in the URL).
  /// Everything not in the URL keeps its default. Throws invalid_input (field "redis_url");
  /// messages never repeat the password.
  static connection_options from_url(std::string_view url);

  /// Throws invalid_input naming the first field that cannot work (e.g. "port", "reconnect.attempts").
  void validate() const;

  /// "host:port" ("[::1]:6379" for an IPv6 host), or "unix:<path>" for a socket, for messages.
  std::string address() const {
    if (!socket.empty()) return "unix:" + socket;
    const std::string shown_host = host.find(':') == std::string::npos ? host : "[" + host + "]";
    return shown_host + ":" + std::to_string(port);
  }
};

inline connection_options connection_options::from_url(std::string_view url) {
  const auto invalid = [](const std::string& problem) {
    return invalid_input("redis_url",
                         problem + "; expected redis://[user[:password]@]host[:port][/db], e.g. redis://127.0.0.1:6379/0, "
                                   "or unix:///path/to/redis.sock");
  };
  // A decimal number of at most `max`, digits only (no sign, no spaces).
  const auto parse_decimal = [](std::string_view text, long max) -> std::optional<int> {
    if (text.empty() || text.size() > 9) return std::nullopt;
    long value = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value > max) return std::nullopt;
    return static_cast<int>(value);
  };
  const auto starts_with_ignoring_case = [](std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
      if (c != prefix[i]) return false;
    }
    return true;
  };

  constexpr std::string_view unix_scheme = "unix://";
  if (starts_with_ignoring_case(url, unix_scheme)) {
    const std::string_view path = url.substr(unix_scheme.size());
    if (!path.starts_with('/')) {
      throw invalid("a socket URL names an absolute path after unix://, e.g. unix:///var/run/redis/redis.sock");
    }
    if (path.find_first_of("?#@") != std::string_view::npos) {
      throw invalid("a socket URL holds only the socket's path: no credentials, database or parameters");
    }
    connection_options options;
    options.socket = std::string(path);
    return options;
  }
  constexpr std::string_view scheme = "redis://";
  if (!starts_with_ignoring_case(url, scheme)) {
    if (starts_with_ignoring_case(url, "rediss://")) {
      throw invalid("TLS (rediss://) is not supported: hiredis 0.14 has no TLS; use redis:// on a trusted "
                    "network or through a tunnel");
    }
    throw invalid("the URL must start with redis:// (or unix:// for a socket)");
  }
  std::string_view rest = url.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    throw invalid("query parameters and fragments (?..., #...) are not supported");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  connection_options options;
  // The last '@' ends the credentials: a password may contain '@' even unencoded.
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      throw invalid("the user has no password: write redis://user:password@host, or redis://:password@host for "
                    "the default user");
    }
    const std::optional<std::string> user = util::percent_decode(credentials.substr(0, colon));
    if (!user) throw invalid("the user has a broken %-escape: write a byte as % and two hex digits");
    const std::optional<std::string> password = util::percent_decode(credentials.substr(colon + 1));
    if (!password) throw invalid("the password has a broken %-escape: write a byte as % and two hex digits");
    if (password->empty()) throw invalid("the password is empty: give it, or leave out the credentials and the '@'");
    if (!user->empty()) options.user = *user;
    options.password = *password;
  }

  std::optional<std::string_view> port_text;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw invalid("the IPv6 host '" + std::string(authority) + "' lacks its ']'");
    options.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw invalid("unexpected '" + std::string(after) + "' after the IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    options.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text->find(':') != std::string_view::npos) {
        throw invalid("the host '" + std::string(authority) + "' has more than one ':'; write an IPv6 host in "
                      "brackets, e.g. redis://[::1]:6379");
      }
    }
  }
  if (options.host.empty()) throw invalid("the host is missing");
  if (port_text) {
    const std::optional<int> port = parse_decimal(*port_text, 65535);
    if (!port || *port == 0) throw invalid("the port '" + std::string(*port_text) + "' is not a number from 1 to 65535");
    options.port = *port;
  }
  if (!path.empty()) {
    const std::optional<int> db = parse_decimal(path, 1'000'000);
    if (!db) throw invalid("the database '/" + std::string(path) + "' is not a number like /0");
    options.db = *db;
  }
  return options;
}

inline void connection_options::validate() const {
  using std::chrono::milliseconds;
  if (socket.size() >= sizeof(sockaddr_un::sun_path)) {
    throw invalid_input("socket", "'" + socket + "' is " + std::to_string(socket.size()) +
                                      " bytes long; a Unix socket's path has at most " +
                                      std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ": use a shorter one");
  }
  if (host.empty()) throw invalid_input("host", "is empty; give Redis's host name or address, e.g. 127.0.0.1");
  if (port < 1 || port > 65535) {
    throw invalid_input("port", std::to_string(port) + " is not a TCP port; use 1 to 65535 (Redis's default is 6379)");
  }
  if (user && user->empty()) throw invalid_input("user", "is empty; leave it unset to log in as the default user");
  if (user && !password) {
    throw invalid_input("password", "user '" + *user + "' has none; an ACL user logs in with a user name and a password");
  }
  if (password && password->empty()) throw invalid_input("password", "is empty; leave it unset if Redis needs none");
  if (db < 0) throw invalid_input("db", std::to_string(db) + " is negative; databases are numbered from 0");
  if (connect_timeout <= milliseconds::zero()) throw invalid_input("connect_timeout", "must be positive, e.g. 2 s");
  if (command_timeout <= milliseconds::zero()) throw invalid_input("command_timeout", "must be positive, e.g. 5 s");
  if (reconnect.initial_delay <= milliseconds::zero()) {
    throw invalid_input("reconnect.initial_delay", "must be positive, e.g. 50 ms");
  }
  if (reconnect.max_delay < reconnect.initial_delay) {
    throw invalid_input("reconnect.max_delay", "is shorter than reconnect.initial_delay; make it at least as long");
  }
  if (reconnect.attempts < 1) throw invalid_input("reconnect.attempts", "must be at least 1");
  if (reconnect.window <= milliseconds::zero()) throw invalid_input("reconnect.window", "must be positive, e.g. 10 s");
}

}  // namespace comfyq::redis
