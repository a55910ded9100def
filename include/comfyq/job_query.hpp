#pragma once
// Listing jobs: a tenant's (or everyone's) jobs, newest first, filtered by state, a page at a
// time. Every store reads a query, and writes the cursor of its next page, with these functions,
// so that they accept and refuse the same input with the same words.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/model.hpp"

namespace comfyq {

/// Which jobs to list, and from where.
struct job_query {
  std::string tenant{};             ///< whose jobs; empty: every tenant's
  std::vector<job_state> states{};  ///< jobs in any of these states; empty: in any state
  std::size_t limit = 50;           ///< the most jobs in a page, 1 to max_job_page
  std::string after{};              ///< the `next` of the page before; empty: from the newest job
};

/// A page of jobs, newest first (by submission: a retried job counts as submitted again).
struct job_page {
  std::vector<job> jobs{};
  std::string next{};  ///< pass as `after` for the page that follows; empty when no job follows
};

/// The most jobs a page may hold.
inline constexpr std::size_t max_job_page = 500;

/// The most jobs a store looks at for one page: with a filter that few jobs match, a page may
/// hold fewer than `limit` jobs (even none) and still have a `next`, so that no call holds the
/// store for long however many jobs it keeps.
inline constexpr std::size_t job_page_scan = 2000;

/// A job query as a store reads it: its cursor as the submission number to list below.
struct job_listing {
  std::uint64_t below = std::numeric_limits<std::uint64_t>::max();  ///< list jobs with seq below this
  unsigned states = 0;  ///< bit (1 << state) per state asked for; 0: any

  bool wants(job_state state) const noexcept { return states == 0 || (states & (1u << static_cast<unsigned>(state))) != 0; }
};

/// The cursor of a page whose last job examined had submission number `seq`.
inline std::string job_cursor(std::uint64_t seq) { return std::to_string(seq); }

/// Throws invalid_input naming the first field of `q` that no store accepts; else the query as
/// a store reads it.
inline job_listing read_job_query(const job_query& q) {
  if (!q.tenant.empty()) validate_id("tenant", q.tenant);
  if (q.limit == 0 || q.limit > max_job_page) {
    throw invalid_input("limit", std::to_string(q.limit) + " is not a page size; ask for 1 to " +
                                     std::to_string(max_job_page) + " jobs a page");
  }
  job_listing listing;
  for (job_state state : q.states) {
    if (to_string(state) == "unknown") {
      throw invalid_input("states", "holds a value that is not a job state; use queued, running, succeeded, failed, "
                                    "cancelled or dead");
    }
    listing.states |= 1u << static_cast<unsigned>(state);
  }
  if (!q.after.empty()) {
    const char* end = q.after.data() + q.after.size();
    auto [stop, ec] = std::from_chars(q.after.data(), end, listing.below);
    if (ec != std::errc() || stop != end) {
      throw invalid_input("after", "'" + detail::printable(q.after) +
                                       "' is not a cursor; pass the next of the page before, or nothing for the newest "
                                       "jobs");
    }
  }
  return listing;
}

}  // namespace comfyq
