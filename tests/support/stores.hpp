#pragma once
// The conformance suite's view of a store: the store contract driven at times the test
// chooses, for every store (memory, Redis). Tests written once against queue_under_test<...>
// run against each backend with TEMPLATE_LIST_TEST_CASE(..., comfyq::testing::stores).

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "comfyq/store/memory.hpp"
#include "support/time.hpp"
#ifdef COMFYQ_TEST_REDIS_STORE
#include "comfyq/redis/store.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"
#endif

namespace comfyq::testing {

struct memory_backend {
  static constexpr int property_seeds = 8;    ///< random-operation property tests: how many seeds,
  static constexpr int property_steps = 1500;  ///< and steps per seed
  static std::unique_ptr<store::contract> make(scheduler_config config, store::clock clock) {
    return std::make_unique<store::memory>(store::memory_options{.scheduler = std::move(config), .clock = std::move(clock)});
  }
};

#ifdef COMFYQ_TEST_REDIS_STORE
/// A queue of its own on the shared test Redis.
struct redis_backend {
  // A round trip per call, and the invariants read every job after every step: smaller runs
  // keep the suite quick; equivalence.cpp replays long runs on both stores.
  static constexpr int property_seeds = 2;
  static constexpr int property_steps = 300;
  static std::unique_ptr<store::contract> make(scheduler_config config, store::clock clock) {
    return std::make_unique<redis::store>(
        shared_redis().connection_options(),
        redis::store_options{.queue = unique_queue_name(), .scheduler = std::move(config), .clock = std::move(clock)});
  }
};
#endif

/// A store whose clock is whatever time the last call was given.
template <class Backend>
class queue_under_test {
 public:
  explicit queue_under_test(scheduler_config config = {})
      : store_(Backend::make(std::move(config), [this] { return now_; })) {}
  queue_under_test(const queue_under_test&) = delete;
  queue_under_test& operator=(const queue_under_test&) = delete;

  comfyq::store::contract& store() noexcept { return *store_; }
  void set_now(time_point now) noexcept { now_ = now; }

  void set_tenant(const tenant_config& tenant, time_point now) { at(now).set_tenant(tenant); }
  std::optional<tenant_config> find_tenant(std::string_view id) { return store_->find_tenant(id); }
  void pause_tenant(std::string_view id, time_point now) { at(now).pause_tenant(id); }
  void resume_tenant(std::string_view id, time_point now) { at(now).resume_tenant(id); }
  void pause_queue(time_point now) { at(now).pause_queue(); }
  void resume_queue(time_point now) { at(now).resume_queue(); }
  void set_policy(policy p, time_point now) { at(now).set_policy(p); }
  void set_preemption(bool on, time_point now) { at(now).set_preemption(on); }
  queue_ttls ttls() { return store_->ttls(); }
  std::string submit(submit_request request, time_point now) {
    std::string id = at(now).submit(std::move(request));
    submitted_.push_back(id);
    return id;
  }
  std::vector<std::string> submit_many(std::vector<submit_request> requests, time_point now) {
    std::vector<std::string> ids = at(now).submit_many(std::move(requests));
    submitted_.insert(submitted_.end(), ids.begin(), ids.end());
    return ids;
  }
  std::optional<comfyq::lease> lease(std::string_view worker, time_point now) { return at(now).lease(worker); }
  lease_status heartbeat(std::string_view id, std::uint64_t token, time_point now) {
    return at(now).heartbeat(id, token);
  }
  lease_status wait_for_stop_request(std::string_view id, std::uint64_t token, duration timeout, time_point now) {
    return at(now).wait_for_stop_request(id, token, timeout);
  }
  std::optional<comfyq::lease> held_lease(std::string_view worker, time_point now) { return at(now).held_lease(worker); }
  void complete(std::string_view id, std::uint64_t token, std::vector<manifest_entry> outputs, time_point now) {
    at(now).complete(id, token, std::move(outputs));
  }
  void fail(std::string_view id, std::uint64_t token, std::string_view reason, failure kind, time_point now) {
    at(now).fail(id, token, reason, kind);
  }
  void release(std::string_view id, std::uint64_t token, time_point now) { at(now).release(id, token); }
  job_state cancel(std::string_view id, time_point now) { return at(now).cancel(id); }
  void set_priority(std::string_view id, bool priority, time_point now) { at(now).set_priority(id, priority); }
  void retry(std::string_view id, time_point now) { at(now).retry(id); }
  std::size_t expire(time_point now) { return at(now).expire(); }
  void touch_worker(std::string_view worker, time_point now) { at(now).touch_worker(worker); }
  void register_worker(const worker_info& worker, time_point now) { at(now).register_worker(worker); }
  bool remove_worker(std::string_view worker, time_point now) { return at(now).remove_worker(worker); }
  void drain_worker(std::string_view worker, time_point now) { at(now).drain_worker(worker); }
  void resume_worker(std::string_view worker, time_point now) { at(now).resume_worker(worker); }
  void put_object_info(std::string_view sha256, std::string_view document) { store_->put_object_info(sha256, document); }
  std::optional<std::string> object_info(std::string_view sha256) { return store_->object_info(sha256); }
  std::optional<job> find(std::string_view id) { return store_->find(id); }
  job_page list_jobs(const job_query& q) { return store_->list_jobs(q); }
  std::optional<queue_position> position(std::string_view id, time_point now) { return at(now).position(id); }
  std::vector<queue_position> forecast(time_point now, std::size_t workers = 0,
                                       std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    return at(now).forecast(workers, limit);
  }
  queue_snapshot snapshot(time_point now) { return at(now).snapshot(); }
  policy current_policy() { return store_->snapshot().policy; }
  /// Calls `visit(const job&)` for every job submitted through this object that the store holds.
  template <class Visit>
  void for_each_job(Visit&& visit) {
    for (const std::string& id : submitted_) {
      if (std::optional<job> j = store_->find(id)) visit(*j);
    }
  }
  static constexpr int property_seeds = Backend::property_seeds;
  static constexpr int property_steps = Backend::property_steps;
  /// Every event logged so far, oldest first.
  std::vector<event> events() {
    std::vector<event> out;
    for (comfyq::store::logged_event& e : store_->read_events("0", 1'000'000, duration::zero())) out.push_back(std::move(e.value));
    return out;
  }

 private:
  comfyq::store::contract& at(time_point now) {
    now_ = now;
    return *store_;
  }

  time_point now_{};
  std::unique_ptr<comfyq::store::contract> store_;
  std::vector<std::string> submitted_;
};

/// A job of `tenant` with an empty workflow, submitted at(when): the store tests' usual job.
template <class Queue>
std::string submit(Queue& q, const std::string& tenant, double when = 0, bool priority = false,
                   const std::string& shape = "") {
  return q.submit({.tenant = tenant, .workflow = "{}", .shape = shape, .priority = priority}, at(when));
}

#ifdef COMFYQ_TEST_REDIS_STORE
using stores = std::tuple<queue_under_test<memory_backend>, queue_under_test<redis_backend>>;
#else
using stores = std::tuple<queue_under_test<memory_backend>>;  // built without comfyq::redis
#endif

}  // namespace comfyq::testing
