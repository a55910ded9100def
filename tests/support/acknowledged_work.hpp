#pragma once
// Clients that keep a Redis store busy until it goes away, and remember what it acknowledged:
// what the durability tests check after a crash, and what bench_redis_everysec_loss counts.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"

namespace comfyq::testing {

// Each job's workflow names the job, so a job that came back can be checked to be whole.
inline std::string workflow_of(const std::string& id) {
  return R"({"9":{"class_type":"SaveImage","inputs":{"filename_prefix":")" + id + R"("}}})";
}
inline std::string tenant_of(const std::string& id) { return id.back() % 2 == 0 ? "alice" : "bob"; }

// What the store told the clients before the crash. Clients stop at their first
// store_unavailable: during the crash, the call that failed may or may not have happened.
struct acknowledged {
  std::mutex mutex;
  std::vector<std::string> submitted;
  std::vector<std::string> maybe_submitted;
  std::map<std::string, std::uint64_t> leased;  ///< leased, completion not acknowledged: job -> token
  std::set<std::string> completed;
  std::set<std::string> maybe_completed;

  std::size_t submissions() {
    std::lock_guard lock(mutex);
    return submitted.size();
  }
  std::size_t completions() {
    std::lock_guard lock(mutex);
    return completed.size();
  }
};

inline void submit_until_unavailable(std::stop_token stop, redis::store& queue, acknowledged& told, const std::string& stem) {
  for (int n = 1; !stop.stop_requested(); ++n) {
    const std::string id = stem + "-" + std::to_string(n);
    try {
      queue.submit({.tenant = tenant_of(id), .workflow = workflow_of(id), .id = id});
      std::lock_guard lock(told.mutex);
      told.submitted.push_back(id);
    } catch (const comfyq::store_unavailable&) {
      std::lock_guard lock(told.mutex);
      told.maybe_submitted.push_back(id);
      return;
    }
  }
}

inline void work_until_unavailable(std::stop_token stop, redis::store& queue, acknowledged& told, const std::string& worker) {
  while (!stop.stop_requested()) {
    std::optional<comfyq::lease> granted;
    try {
      granted = queue.lease(worker);
      if (!granted) continue;
      {
        std::lock_guard lock(told.mutex);
        told.leased[granted->job_id] = granted->token;
      }
      std::this_thread::yield();  // "runs" the job: other clients' calls come in between
      queue.complete(granted->job_id, granted->token, {});
      std::lock_guard lock(told.mutex);
      told.leased.erase(granted->job_id);
      told.completed.insert(granted->job_id);
    } catch (const comfyq::store_unavailable&) {
      std::lock_guard lock(told.mutex);
      if (granted) told.maybe_completed.insert(granted->job_id);
      return;
    }
  }
}

}  // namespace comfyq::testing
