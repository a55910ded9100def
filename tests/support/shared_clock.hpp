#pragma once
// A manual clock that several threads may read while the test moves it: the Redis store's
// threads and store objects all see the time the test set, so leases expire exactly when the
// test says and never because a run was slow.

#include <atomic>

#include "comfyq/model.hpp"
#include "comfyq/store/clock.hpp"

namespace comfyq::testing {

class shared_clock {
 public:
  explicit shared_clock(time_point start) : millis_(start.time_since_epoch().count()) {}
  shared_clock(const shared_clock&) = delete;
  shared_clock& operator=(const shared_clock&) = delete;

  time_point now() const noexcept { return time_point{duration{millis_.load()}}; }
  void advance(duration by) noexcept { millis_ += by.count(); }

  /// A store clock reading this one; the shared_clock must outlive every store given it.
  store::clock reader() const {
    return [this] { return now(); };
  }

 private:
  std::atomic<duration::rep> millis_;
};

}  // namespace comfyq::testing
