#pragma once
// A connection per thread, for code that talks to Redis from several threads.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/connection_options.hpp"

namespace comfyq::redis {

/// Hands each calling thread its own comfyq::redis::connection, made from the same options on the
/// thread's first get(). Thread rules: get() may be called from any thread at once; the connection
/// it returns belongs to the calling thread and must only be used there (a connection is never
/// used by two threads at a time). Connections stay open until the pool is destroyed, which must
/// happen after every thread has stopped using its connection; a thread that ends leaves its
/// connection to a later thread that gets the same std::thread::id.
class pool {
 public:
  /// Checks the options now; connects nothing until a thread asks.
  explicit pool(connection_options options) : options_(std::move(options)) { options_.validate(); }

  /// The calling thread's connection, connecting it on first use (so this can throw what the
  /// connection constructor throws; the next get() tries again).
  connection& get() {
    const std::thread::id me = std::this_thread::get_id();
    {
      const std::lock_guard lock(mutex_);
      if (const auto found = connections_.find(me); found != connections_.end()) return *found->second;
    }
    // Connect without holding the lock: other threads need not wait for this one's connect, and
    // no other thread adds an entry for this thread's id.
    auto fresh = std::make_unique<connection>(options_);
    const std::lock_guard lock(mutex_);
    return *connections_.emplace(me, std::move(fresh)).first->second;
  }

  /// How many connections the pool holds (one per thread that called get()).
  std::size_t size() const {
    const std::lock_guard lock(mutex_);
    return connections_.size();
  }

  const connection_options& options() const noexcept { return options_; }

 private:
  connection_options options_;
  mutable std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<connection>> connections_;
};

}  // namespace comfyq::redis
