#pragma once
// A Redis store queue as a busy workshop, for the Redis benchmarks: 100 tenants under
// fair_share, a backlog of one queued job per tenant, and 50 jobs leased by 50 workers (50 in
// flight). Workers run no-op jobs: each completes its job and leases the next in one call,
// and for every job that ends one is submitted, so the backlog and the number in flight stay
// as they are.
//
// The queue starts on an empty private Redis (redis_info.hpp) and is warmed up before it is
// handed out: 1,000 jobs run through it, so the history (history_limit 1,000) is full and
// every completion also forgets the oldest finished job, and the event stream (1,000 events
// kept) is trimmed as it grows, as in a long-running queue; with the defaults (10,000) the
// same happens, only later. Leases last an hour: no run of a benchmark sees one expire.

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <iterator>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "redis_info.hpp"
#include "tenant_ids.hpp"

namespace comfyq_bench {

inline constexpr std::size_t busy_tenants = 100;
inline constexpr std::size_t busy_in_flight = 50;
inline constexpr std::size_t busy_warm_up_jobs = 1'000;
/// The workflow of every job: the work is a no-op, so is the graph.
inline constexpr std::string_view no_op_workflow = "{}";

inline comfyq::redis::store_options busy_queue_options() {
  return {.queue = "bench",
          .scheduler = {.policy = comfyq::policy::fair_share,
                        .lease_ttl = std::chrono::hours(1),
                        .worker_ttl = std::chrono::hours(1),
                        .history_limit = busy_warm_up_jobs},
          .event_log_limit = busy_warm_up_jobs};
}

inline std::string worker_name(std::size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "worker-%02zu", index);
  return name;
}

/// Submits jobs over the tenants in turn.
class submitter {
 public:
  submitter(comfyq::redis::store& store, std::span<const std::string> tenants, std::size_t first_tenant,
            std::string_view workflow = no_op_workflow)
      : store_(store), tenants_(tenants), workflow_(workflow), next_(first_tenant % tenants.size()) {}

  /// Returns the job's id.
  std::string submit() { return store_.submit(next_request()); }
  /// Submits `count` jobs in one call (submit_many).
  void submit_many(std::size_t count) {
    std::vector<comfyq::submit_request> batch;
    batch.reserve(count);
    for (std::size_t i = 0; i < count; ++i) batch.push_back(next_request());
    store_.submit_many(std::move(batch));
  }

 private:
  comfyq::submit_request next_request() {
    comfyq::submit_request request{.tenant = tenants_[next_], .workflow = workflow_};
    next_ = next_ + 1 == tenants_.size() ? 0 : next_ + 1;
    return request;
  }

  comfyq::redis::store& store_;
  std::span<const std::string> tenants_;
  std::string workflow_;
  std::size_t next_;
};

/// Workers holding `leases`, run from one thread: each cycle submits a job, then completes the
/// lease held longest and leases the next job in the same call (two round trips per job). With
/// `batch` > 1, the cycle that has no job submitted ahead submits `batch` at once (submit_many)
/// instead: 1 + 1 / batch round trips per job.
class worker_loop {
 public:
  worker_loop(comfyq::redis::store& store, std::span<const std::string> tenants, std::size_t first_tenant,
              std::vector<comfyq::lease> leases, std::size_t batch = 1)
      : store_(store), submitter_(store, tenants, first_tenant), leases_(std::move(leases)), batch_(batch) {}

  void cycle() {
    if (batch_ == 1) {
      submitter_.submit();
    } else if (ahead_-- == 0) {
      submitter_.submit_many(batch_);
      ahead_ = batch_ - 1;
    }
    comfyq::lease& oldest = leases_[next_];
    std::optional<comfyq::lease> granted = store_.complete_and_lease(oldest.job_id, oldest.token, {}, oldest.worker);
    if (!granted) throw std::runtime_error("worker_loop: the backlog ran dry, " + oldest.worker + " got no job");
    oldest = std::move(*granted);
    next_ = next_ + 1 == leases_.size() ? 0 : next_ + 1;
  }

  std::vector<comfyq::lease>& leases() noexcept { return leases_; }

 private:
  comfyq::redis::store& store_;
  submitter submitter_;
  std::vector<comfyq::lease> leases_;
  std::size_t batch_;
  std::size_t ahead_{0};  ///< jobs submitted ahead of the cycles that use them
  std::size_t next_{0};
};

/// The busy queue on a freshly emptied private Redis, warmed up; `leases` are the 50 held.
struct busy_queue {
  // Redis is emptied first: the comma runs flush_redis() before the store configures the queue.
  comfyq::redis::store store{private_redis().connection_options(), (flush_redis(), busy_queue_options())};
  std::vector<std::string> tenants = make_tenant_ids(busy_tenants);
  std::vector<comfyq::lease> leases;

  busy_queue() {
    submitter backlog(store, tenants, 0);
    for (std::size_t i = 0; i < busy_tenants + busy_in_flight; ++i) backlog.submit();
    for (std::size_t i = 0; i < busy_in_flight; ++i) leases.push_back(store.lease(worker_name(i)).value());
    worker_loop warm_up(store, tenants, 0, std::move(leases));
    for (std::size_t i = 0; i < busy_warm_up_jobs; ++i) warm_up.cycle();
    leases = std::move(warm_up.leases());
  }

  /// The leases from `first` up to (not including) `last`, for one thread's worker_loop.
  std::vector<comfyq::lease> take_leases(std::size_t first, std::size_t last) {
    return {std::make_move_iterator(leases.begin() + static_cast<std::ptrdiff_t>(first)),
            std::make_move_iterator(leases.begin() + static_cast<std::ptrdiff_t>(last))};
  }
};

}  // namespace comfyq_bench
