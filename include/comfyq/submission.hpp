#pragma once
// The checks a submission passes before any store takes it, in one place so that every store
// refuses the same request with the same words. The tenant's id is checked by the store, which
// may know it already.

#include <chrono>
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

}  // namespace comfyq
