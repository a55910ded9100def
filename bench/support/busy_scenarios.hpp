#pragma once
// What one connection does to the busy queue (busy_queue.hpp) in the benchmarks that count
// per job: each cycle() is one job (one heartbeat), made of store_calls store calls.

#include <cstddef>
#include <utility>

#include "busy_queue.hpp"

namespace comfyq_bench {

/// Submit, lease, complete: one job through a 51st worker, so the 50 keep their leases.
class separate_calls {
 public:
  static constexpr int store_calls = 3;

  explicit separate_calls(busy_queue& queue) : store_(queue.store), jobs_(queue.store, queue.tenants, 0) {}

  void cycle() {
    jobs_.submit();
    const comfyq::lease lease = store_.lease("worker-solo").value();
    store_.complete(lease.job_id, lease.token, {});
  }

 private:
  comfyq::redis::store& store_;
  submitter jobs_;
};

/// Submit, then complete a held job and lease the next in one call: the 50 workers' loop.
class complete_and_lease_calls {
 public:
  static constexpr int store_calls = 2;

  explicit complete_and_lease_calls(busy_queue& queue)
      : workers_(queue.store, queue.tenants, 0, std::move(queue.leases)) {}

  void cycle() { workers_.cycle(); }

 private:
  worker_loop workers_;
};

/// A heartbeat of one of the 50 leases, in turn.
class heartbeats {
 public:
  static constexpr int store_calls = 1;

  explicit heartbeats(busy_queue& queue) : queue_(queue) {}

  void cycle() {
    const comfyq::lease& lease = queue_.leases[next_];
    next_ = next_ + 1 == queue_.leases.size() ? 0 : next_ + 1;
    queue_.store.heartbeat(lease.job_id, lease.token);
  }

 private:
  busy_queue& queue_;
  std::size_t next_{0};
};

}  // namespace comfyq_bench
