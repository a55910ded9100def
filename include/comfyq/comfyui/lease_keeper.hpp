#pragma once
// Keeps a lease alive while the worker does something long that is not a loop of its own:
// collecting a job's outputs (a few large videos can take longer than the lease lasts). The
// GPU work is done by then; losing the lease there would throw it away.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::comfyui {

/// Heartbeats `job` every `interval` on a thread of its own, from construction to destruction.
/// A store out of reach is tried again after a second (the lease lasts lease_ttl); a lost lease
/// ends the heartbeats and is reported by lost().
class lease_keeper {
 public:
  lease_keeper(store::contract& store, std::string job, std::uint64_t token, duration interval)
      : store_(store), job_(std::move(job)), token_(token), interval_(interval), thread_([this] { loop(); }) {}

  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;

  ~lease_keeper() {
    {
      const std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  /// Why the lease was lost, if it was.
  std::optional<std::string> lost() const {
    const std::lock_guard lock(mutex_);
    return lost_;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    duration wait = interval_;
    while (!changed_.wait_for(lock, wait, [&] { return done_; })) {
      lock.unlock();
      std::optional<std::string> lost;
      wait = interval_;
      try {
        store_.heartbeat(job_, token_);
      } catch (const lease_lost& e) {
        lost = e.what();
      } catch (const std::exception&) {
        wait = std::min<duration>(interval_, std::chrono::seconds(1));
      }
      lock.lock();
      if (lost) {
        lost_ = std::move(lost);
        return;
      }
    }
  }

  store::contract& store_;
  std::string job_;
  std::uint64_t token_;
  duration interval_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  std::optional<std::string> lost_{};
  std::thread thread_;  // last: it starts once everything above is ready
};

}  // namespace comfyq::comfyui
