#pragma once
// Waiting on a test's own Redis without sleeping for a guessed time: poll a condition up to a
// bound, see when a client is blocked in BLPOP or XREAD BLOCK, and give up on a Redis that is
// down quickly, so tests about outages loop fast.

#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/connection_options.hpp"
#include "support/redis_server.hpp"

namespace comfyq::testing {

/// Polls `condition` until it holds or `limit` passed; says whether it held.
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

/// How many clients of `server` wait in a blocking command now.
inline long long blocked_clients(const redis_server& server) {
  comfyq::redis::connection observer(server.connection_options());
  const std::string info(observer.command({"INFO", "clients"}).string());
  constexpr std::string_view field = "blocked_clients:";
  const std::size_t at = info.find(field);
  return at == std::string::npos ? 0 : std::stoll(info.substr(at + field.size()));
}

/// Options for `server` that give up on a Redis that is down after a few quick attempts (a
/// call fails with store_unavailable within tens of milliseconds, instead of the defaults' 10 s).
inline comfyq::redis::connection_options quick_to_give_up(const redis_server& server) {
  comfyq::redis::connection_options options = server.connection_options();
  options.reconnect = {.initial_delay = std::chrono::milliseconds(5),
                       .max_delay = std::chrono::milliseconds(20),
                       .attempts = 2,
                       .window = std::chrono::seconds(1)};
  return options;
}

}  // namespace comfyq::testing
