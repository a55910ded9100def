#pragma once
// After a crash or an outage: do the jobs a test knows of agree with the queue's own books?
// Each job is in exactly one state, the snapshot's counts are those states, and the forecast
// lists exactly the queued jobs (for a queue without pauses or caps, where every queued job
// can start).

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/model.hpp"
#include "comfyq/store/contract.hpp"

namespace comfyq::testing {

/// How many of `ids` are in each state; every id must name a job the store holds.
inline std::map<job_state, std::size_t> audit_queue(store::contract& queue, const std::vector<std::string>& ids) {
  std::map<job_state, std::size_t> by_state;
  std::vector<std::string> queued;
  for (const std::string& id : ids) {
    std::optional<job> found = queue.find(id);
    INFO("job " << id);
    REQUIRE(found.has_value());
    ++by_state[found->state];
    if (found->state == job_state::queued) queued.push_back(id);
  }
  const queue_snapshot books = queue.snapshot();
  CHECK(books.queued == by_state[job_state::queued]);
  CHECK(books.running == by_state[job_state::running]);
  CHECK(books.succeeded == by_state[job_state::succeeded]);
  CHECK(books.failed == by_state[job_state::failed]);
  CHECK(books.cancelled == by_state[job_state::cancelled]);
  CHECK(books.dead == by_state[job_state::dead]);

  std::vector<std::string> in_line;
  for (const queue_position& p : queue.forecast(0)) in_line.push_back(p.job);
  std::sort(in_line.begin(), in_line.end());
  std::sort(queued.begin(), queued.end());
  CHECK(in_line == queued);
  return by_state;
}

}  // namespace comfyq::testing
