#pragma once
// Hears of a cancel or preempt request for the job a worker runs as soon as the store has one
// (store::contract::wait_for_stop_request), on a thread of its own, so that the worker stops
// the prompt within a fraction of a second instead of at its next heartbeat.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::comfyui {

/// Watches one lease at a time. The worker's loop polls requested() between WebSocket frames
/// and asks the store (a heartbeat) what the request was.
class stop_request_watch {
 public:
  /// `slice` bounds each wait in the store, and so how late a newly watched lease is watched.
  explicit stop_request_watch(store::contract& store, duration slice = std::chrono::milliseconds(500))
      : store_(store), slice_(slice), thread_([this] { loop(); }) {}

  stop_request_watch(const stop_request_watch&) = delete;
  stop_request_watch& operator=(const stop_request_watch&) = delete;

  ~stop_request_watch() {
    {
      const std::lock_guard lock(mutex_);
      quit_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  /// Watches this lease from now on (and no other).
  void watch(std::string job, std::uint64_t token) {
    {
      const std::lock_guard lock(mutex_);
      watched_.emplace(std::move(job), token);
      ++generation_;
      fired_ = false;
      requested_.store(false);
    }
    changed_.notify_all();
  }

  /// Stops watching (the run is over).
  void unwatch() {
    {
      const std::lock_guard lock(mutex_);
      watched_.reset();
      ++generation_;
      requested_.store(false);
    }
    changed_.notify_all();
  }

  /// True once, after the store had a request for the watched lease.
  bool take_request() noexcept { return requested_.exchange(false); }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      if (!watched_ || fired_) {
        changed_.wait(lock);
        continue;
      }
      const auto [job, token] = *watched_;
      const std::uint64_t generation = generation_;
      lock.unlock();
      bool stop = false;
      bool failed = false;
      try {
        const lease_status status = store_.wait_for_stop_request(job, token, slice_);
        stop = status.cancel_requested || status.preempt_requested;
      } catch (const std::exception&) {
        // A lost lease or a store out of reach: the run's own heartbeat learns of it and says so.
        failed = true;
      }
      lock.lock();
      if (generation != generation_) continue;
      if (stop) {
        fired_ = true;  // one request per lease: the run acts on it, or knows it was withdrawn
        requested_.store(true);
      } else if (failed) {
        changed_.wait_for(lock, slice_, [&] { return quit_ || generation != generation_; });
      }
    }
  }

  store::contract& store_;
  duration slice_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::pair<std::string, std::uint64_t>> watched_{};
  std::uint64_t generation_ = 0;
  bool fired_ = false;
  bool quit_ = false;
  std::atomic<bool> requested_{false};
  std::thread thread_;  // last: it starts once everything above is ready
};

}  // namespace comfyq::comfyui
