#pragma once
// The errors a queue answers when it refuses a call, built in one place so that every store
// (the scheduler in memory, the Redis scripts) refuses with exactly the same words.

#include <cstdint>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"

namespace comfyq::store {

inline invalid_input duplicate_job_id(std::string_view id) {
  return invalid_input("id", "job id '" + std::string(id) + "' is already used; leave id empty to let comfyq choose one");
}

inline quota_exceeded queue_full(std::string_view tenant, std::uint32_t max_queued) {
  return quota_exceeded("tenant", "'" + std::string(tenant) + "' already has " + std::to_string(max_queued) +
                                      " jobs waiting (max_queued); wait for one to start or cancel one");
}

inline not_found unknown_tenant(std::string_view id) {
  return not_found("tenant", "no tenant '" + detail::printable(id) + "'; configure it with set_tenant first");
}

inline not_found unknown_job(std::string_view id) {
  return not_found("job", "no job '" + detail::printable(id) + "' (unknown, or finished long enough ago to be forgotten)");
}

inline not_found unknown_worker(std::string_view id) {
  return not_found("worker", "no worker '" + detail::printable(id) +
                                 "'; a worker is known once it leased, touched or registered, until it is removed");
}

/// Only a queued job moves between the lanes; `state` is the job's.
inline conflict not_queued(std::string_view id, job_state state) {
  return conflict("job", "job '" + std::string(id) + "' is " + std::string(to_string(state)) +
                             ", not queued; only a queued job moves into or out of the priority lane");
}

/// Only a failed or dead job is retried; `state` is the job's.
inline conflict not_retryable(std::string_view id, job_state state) {
  return conflict("job", "job '" + std::string(id) + "' is " + std::string(to_string(state)) +
                             "; only a failed or dead job can be retried (submit it again instead)");
}

inline lease_lost unknown_lease(std::string_view id) {
  return lease_lost("token", "job '" + detail::printable(id) + "' is unknown; drop the work");
}

/// `token` does not hold the job, which is `state` now (under `current_token` if running).
inline lease_lost lost_lease(std::string_view id, std::uint64_t token, job_state state, std::uint64_t current_token) {
  std::string now_state = state == job_state::running ? "running under token " + std::to_string(current_token)
                                                      : std::string(to_string(state));
  return lease_lost("token", "job '" + std::string(id) + "' is no longer held by token " + std::to_string(token) +
                                 " (it is " + now_state + "); drop the work");
}

}  // namespace comfyq::store
