#pragma once
// The checks a submission passes before any store takes it, in one place so that every store
// refuses the same request with the same words. The tenant's id is checked by the store, which
// may know it already (but in a batch, here).

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"

namespace comfyq {

/// The longest a submitter's estimate may be: a bound far beyond any ComfyUI job, so that a
/// typo (seconds given as milliseconds the wrong way round) is caught.
inline constexpr duration max_submitted_estimate = std::chrono::hours(24 * 7);

/// Throws invalid_input naming the first field of `request` (other than its tenant) that no
/// store accepts.
inline void validate_submission(const submit_request& request) {
  if (!request.id.empty()) validate_id("id", request.id);
  if (request.shape.size() > 256) throw invalid_input("shape", "must be at most 256 characters (use workflow_shape())");
  if (request.estimate < duration::zero() || request.estimate > max_submitted_estimate) {
    throw invalid_input("estimate", "must be between 0 and 7 days (got " + std::to_string(request.estimate.count()) +
                                        " ms); leave it 0 to let comfyq estimate from measured runs");
  }
}

/// The most jobs one submit_many() takes: a batch is one atomic step, which holds the queue (in
/// Redis, Redis itself) while it runs.
inline constexpr std::size_t max_batch_size = 1000;

/// `refusal` of the job at `index` of a batch: the same error, its field "jobs[<index>].<field>".
template <class Error>
Error in_batch(const Error& refusal, std::size_t index) {
  return Error("jobs[" + std::to_string(index) + "]." + refusal.field(), refusal.message());
}

/// Throws invalid_input naming the first job of a batch, and its field, that no store accepts
/// (validate_submission and the tenant's id); or a batch larger than max_batch_size.
inline void validate_batch(std::span<const submit_request> requests) {
  if (requests.size() > max_batch_size) {
    throw invalid_input("jobs", "at most " + std::to_string(max_batch_size) + " jobs per call (got " +
                                    std::to_string(requests.size()) + "); submit them in several batches");
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      validate_id("tenant", requests[i].tenant);
      validate_submission(requests[i]);
    } catch (const invalid_input& refusal) {
      throw in_batch(refusal, i);
    }
  }
}

}  // namespace comfyq
