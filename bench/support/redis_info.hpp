#pragma once
// The Redis benchmarks' server and what it says about itself. Each bench process starts one
// private redis-server (tests/support/redis_server.hpp: a free loopback port, `save ""`, no
// AOF) and never touches a Redis it did not start; INFO snapshots taken before and after a
// run give what Redis did for it: commands, request reads, CPU, memory.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "comfyq/redis/connection.hpp"
#include "support/redis_server.hpp"

namespace comfyq_bench {

/// This process's redis-server, started on first use and killed at exit.
inline comfyq::testing::redis_server& private_redis() {
  static comfyq::testing::redis_server server;
  return server;
}

/// A connection to the private server for the benchmark's own commands (INFO, FLUSHALL, ...).
inline comfyq::redis::connection& admin_connection() {
  static comfyq::redis::connection admin(private_redis().connection_options());
  return admin;
}

/// Empties the private server: every run starts from nothing (scripts stay loaded).
inline void flush_redis() { admin_connection().command({"FLUSHALL"}).expect_ok(); }

/// One INFO of the private server.
class redis_info {
 public:
  static redis_info now() {
    comfyq::redis::reply r = admin_connection().command({"INFO", "stats", "cpu", "memory", "clients", "commandstats"});
    return redis_info(r.string());
  }
  /// Only one section, e.g. "clients": quicker, for polling.
  static redis_info now(std::string_view section) {
    comfyq::redis::reply r = admin_connection().command({"INFO", section});
    return redis_info(r.string());
  }

  /// A numeric field, e.g. "used_memory"; 0 when absent.
  double number(std::string_view field) const {
    const auto found = fields_.find(field);
    return found == fields_.end() ? 0.0 : std::stod(found->second);
  }
  /// CPU time Redis has used (user + system, every thread), in microseconds.
  double cpu_us() const { return (number("used_cpu_user") + number("used_cpu_sys")) * 1e6; }
  /// Requests read from clients (total_reads_processed): one per round trip of a small command.
  double reads() const { return number("total_reads_processed"); }
  /// Calls of `command` (lowercase, e.g. "fcall"), from clients and from scripts alike.
  double calls(std::string_view command) const { return stat(command, "calls="); }
  /// Microseconds Redis spent executing `command`.
  double usec(std::string_view command) const { return stat(command, "usec="); }

 private:
  explicit redis_info(std::string_view text) {
    while (!text.empty()) {
      const std::size_t end = text.find('\n');
      std::string_view line = text.substr(0, end);
      text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
      if (line.ends_with('\r')) line.remove_suffix(1);
      const std::size_t colon = line.find(':');
      if (line.empty() || line.front() == '#' || colon == std::string_view::npos) continue;
      fields_.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
  }

  // A number from a commandstats line: "calls=12,usec=345,usec_per_call=28.75,...".
  double stat(std::string_view command, std::string_view name) const {
    const auto found = fields_.find("cmdstat_" + std::string(command));
    if (found == fields_.end()) return 0.0;
    const std::string& line = found->second;
    const std::size_t at = line.find(name);
    return at == std::string::npos ? 0.0 : std::stod(line.substr(at + name.size()));
  }

  std::map<std::string, std::string, std::less<>> fields_;
};

/// What Redis did between two snapshots, per item (job, heartbeat) of a run.
struct redis_work {
  const redis_info& before;
  const redis_info& after;
  double items{};

  /// Round trips: request reads, less those of the benchmark's own INFO commands (`after`'s included).
  double round_trips() const { return (after.reads() - before.reads() - (after.calls("info") - before.calls("info"))) / items; }
  double calls(std::string_view command) const { return (after.calls(command) - before.calls(command)) / items; }
  /// Microseconds Redis spent executing `command` (scripts: their whole run).
  double exec_us(std::string_view command) const { return (after.usec(command) - before.usec(command)) / items; }
  /// Redis CPU time: execution, parsing, the event loop and the socket system calls.
  double cpu_us() const { return (after.cpu_us() - before.cpu_us()) / items; }
  double memory_bytes() const { return (after.number("used_memory") - before.number("used_memory")) / items; }
};

/// Returns once Redis reports a client blocked (a worker waiting in BLPOP), polling INFO.
inline void wait_until_blocked() {
  while (redis_info::now("clients").number("blocked_clients") < 1) std::this_thread::sleep_for(std::chrono::microseconds(50));
}

}  // namespace comfyq_bench
