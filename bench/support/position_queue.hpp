#pragma once
// The queue the position benchmarks ask about, the same for every store: 1,000 tenants under
// fair_share, 100,000 jobs queued over them in turn, 4 workers each running a job, and before
// that a history of 2,000 measured runs whose lengths differ by tenant, so that estimates and
// virtual clocks differ and the fair order is not the order of submission. A change, as the
// benchmarks make one between questions, is what a busy queue sees most: a worker completes
// its job and leases the next (complete_and_lease), and one job is submitted, so the queue
// keeps its length.
//
// A Debug build (the smoke run of scripts/test) only shows that the benchmarks run: 1,000
// jobs queued.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "comfyq/scheduler_config.hpp"
#include "comfyq/store/contract.hpp"
#include "tenant_ids.hpp"

namespace comfyq_bench {

#ifdef NDEBUG
inline constexpr std::size_t position_queued = 100'000;
#else
inline constexpr std::size_t position_queued = 1'000;
#endif
inline constexpr std::size_t position_tenants = 1'000;
inline constexpr std::size_t position_workers = 4;
inline constexpr std::size_t position_history = 2'000;

/// Leases and workers' presence last a day: none expires during a run, whatever the clock does.
inline comfyq::scheduler_config position_config() {
  return {.policy = comfyq::policy::fair_share, .lease_ttl = std::chrono::hours(24), .worker_ttl = std::chrono::hours(24)};
}

/// Builds the queue through `store`, whose clock reads `now`, which it moves on.
class position_queue {
 public:
  position_queue(comfyq::store::contract& store, comfyq::time_point& now)
      : store_(store), now_(now), tenants_(make_tenant_ids(position_tenants)) {}

  /// The history, then the queued jobs, then a job leased to each worker.
  void fill() {
    for (std::size_t i = 0; i < position_history; ++i) {
      const std::string& tenant = tenants_[i % tenants_.size()];
      store_.submit({.tenant = tenant, .shape = shape(i)});
      const std::optional<comfyq::lease> run = store_.lease(worker(0));
      now_ += run_length(i);
      store_.complete(run->job_id, run->token, {});
    }
    for (std::size_t i = 0; i < position_queued; ++i) submit();
    for (std::size_t w = 0; w < position_workers; ++w) {
      running_.push_back(*store_.lease(worker(w)));
      now_ += std::chrono::seconds(3);
    }
  }

  std::string submit() {
    const std::size_t n = submitted_++;
    ids_.push_back(store_.submit({.tenant = tenants_[n % tenants_.size()], .shape = shape(n)}));
    return ids_.back();
  }

  /// One worker's job ends and it leases the next; one job is submitted.
  void change() {
    const std::size_t w = next_worker_++ % running_.size();
    now_ += std::chrono::seconds(20);
    const comfyq::lease done = running_[w];
    running_[w] = *store_.complete_and_lease(done.job_id, done.token, {}, worker(w));
    submit();
  }

  /// A job submitted to the queue, picked by `n` (most are queued: a few hundred of 100,000 ran).
  const std::string& some_job(std::size_t n) const { return ids_[n % ids_.size()]; }

 private:
  static std::string worker(std::size_t w) { return "gpu-" + std::to_string(w); }
  static std::string shape(std::size_t n) { return n % 3 == 0 ? "video" : "image"; }
  // 10 to 120 seconds, by tenant and shape.
  static comfyq::duration run_length(std::size_t n) {
    return std::chrono::seconds(10 + (n * 7919 % position_tenants) % 111 + (n % 3 == 0 ? 60 : 0));
  }

  comfyq::store::contract& store_;
  comfyq::time_point& now_;
  std::vector<std::string> tenants_;
  std::vector<std::string> ids_;
  std::vector<comfyq::lease> running_;
  std::size_t submitted_ = 0;
  std::size_t next_worker_ = 0;
};

}  // namespace comfyq_bench
