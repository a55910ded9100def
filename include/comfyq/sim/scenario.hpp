#pragma once
// What the simulator is asked (a workshop scenario) and what it answers (the measurements).
// Included through comfyq/sim/simulate.hpp; every definition is in docs/simulator.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/model.hpp"

namespace comfyq::sim {

/// A kind of job a participant submits; each job's length is uniform in [shortest, longest].
struct job_profile {
  std::string name{};  ///< also the jobs' workflow shape, so the scheduler learns their cost per tenant
  duration shortest{};
  duration longest{};

  friend bool operator==(const job_profile&, const job_profile&) = default;
};

/// What the scheduler is told of a job's cost when it is submitted.
enum class job_estimates : std::uint8_t {
  /// The shape is the profile's name: the workflow's structure, as if its cost-bearing numbers
  /// (steps, frames, size) were left out, so all of a profile's lengths share one average.
  structure_only,
  /// The shape is the profile's name and the job's length in buckets of about 20 %: what
  /// workflow_shape() gives workflows whose cost-bearing numbers set their length.
  cost_literals,
  /// Every job is submitted with its exact length as the submitter's estimate: fair queuing
  /// with exact estimates, the ideal the learned estimates are measured against.
  exact,
};

constexpr std::string_view to_string(job_estimates e) noexcept {
  switch (e) {
    case job_estimates::structure_only: return "structure_only";
    case job_estimates::cost_literals: return "cost_literals";
    case job_estimates::exact: return "exact";
  }
  return "?";
}

inline std::optional<job_estimates> parse_job_estimates(std::string_view text) noexcept {
  for (job_estimates e : {job_estimates::structure_only, job_estimates::cost_literals, job_estimates::exact}) {
    if (text == to_string(e)) return e;
  }
  return std::nullopt;
}

/// A workshop: participants who each keep a few jobs in the queue, a late joiner, an
/// instructor's demos, and the workers. The defaults are the default workshop.
struct scenario {
  std::uint32_t users = 20;    ///< participants "user01".."user20"; the instructor comes on top
  std::uint32_t workers = 1;   ///< GPU workers ("worker1".."workerN"), never down
  comfyq::policy policy = comfyq::policy::fair_share;
  bool preemption = false;     ///< a demo interrupts a running participant job (scheduler_config::preemption)
  double hours = 8.0;          ///< simulated time; nothing happens at or after the end
  std::uint64_t seed = 1;
  std::uint32_t outstanding = 3;  ///< jobs each participant keeps queued or running
  /// Assigned to participants round-robin: user01 short, user02 medium, user03 long, user04 short...
  std::vector<job_profile> profiles{{"short", std::chrono::seconds(10), std::chrono::seconds(30)},
                                    {"medium", std::chrono::seconds(60), std::chrono::seconds(180)},
                                    {"long", std::chrono::seconds(300), std::chrono::seconds(600)}};
  duration max_think = std::chrono::seconds(60);    ///< after a job finishes: think uniform [0, max_think], submit one
  duration max_stagger = std::chrono::seconds(60);  ///< a participant arrives uniform [0, max_stagger] and submits `outstanding`
  duration late_join_at = std::chrono::hours(2);    ///< the last participant arrives then instead; 0: no late joiner
  duration first_demo_at = std::chrono::minutes(30);
  duration demo_every = std::chrono::minutes(60);  ///< the instructor's priority demos; 0: none
  duration demo_shortest = std::chrono::seconds(60);
  duration demo_longest = std::chrono::seconds(120);
  /// Every participant's jobs draw their profile at random, each job its own (one workflow run
  /// at several sizes, the shape's structure "mixed"), instead of each participant keeping to one.
  bool mixed_sizes = false;
  job_estimates estimates = job_estimates::cost_literals;
  duration jain_window = std::chrono::minutes(30);  ///< the length of the windows of fairness_result::windows

  friend bool operator==(const scenario&, const scenario&) = default;
};

/// Waiting times (start - submit) of the jobs that started, in seconds.
struct wait_stats {
  std::size_t jobs = 0;
  double p50 = 0.0;  ///< nearest-rank percentiles
  double p95 = 0.0;
  double max = 0.0;

  friend bool operator==(const wait_stats&, const wait_stats&) = default;
};

struct tenant_result {
  std::string id{};
  std::string profile{};  ///< its job profile; "demo" for the instructor
  bool instructor = false;
  bool late_joiner = false;
  std::size_t submitted = 0;
  std::size_t completed = 0;
  double gpu_seconds = 0.0;  ///< worker time on its jobs: running ones pro rata, interrupted runs included
  double share = 0.0;        ///< of all GPU time, instructor included
  wait_stats wait{};         ///< first start of each job

  friend bool operator==(const tenant_result&, const tenant_result&) = default;
};

/// Fairness among the participants (the instructor excluded).
struct fairness_result {
  std::optional<double> jain{};   ///< over GPU time in the window; empty when no participant qualifies
  std::size_t jain_tenants = 0;   ///< n: participants backlogged throughout the window
  double window_start_s = 0.0;    ///< when the last participant arrived; the window ends at the end of the run
  double max_lag_s = 0.0;         ///< largest lag behind fair share of any backlogged participant
  std::string max_lag_tenant{};   ///< who, and when (empty when no lag was positive)
  double max_lag_at_s = 0.0;
  double longest_job_s = 0.0;     ///< the longest job that ran (demos included): the bound for max_lag_s
  /// Jain's index in each window of scenario::jain_window from the start (over the participants
  /// backlogged throughout it), for the windows with at least two such participants.
  std::vector<double> windows{};
  std::optional<double> windows_mean{};  ///< their mean; empty without any
  std::optional<double> windows_min{};

  friend bool operator==(const fairness_result&, const fairness_result&) = default;
};

struct late_joiner_result {
  bool joined = false;         ///< false without a late joiner, or when it would arrive after the end
  bool started = false;        ///< its first job started before the end
  double joined_at_s = 0.0;
  std::size_t completions = 0;  ///< jobs completed between its arrival and its first start (or the end)
  double wait_s = 0.0;          ///< its arrival to its first start (or the end)

  friend bool operator==(const late_joiner_result&, const late_joiner_result&) = default;
};

struct demo_result {
  std::size_t submitted = 0;
  std::size_t started = 0;
  std::size_t max_completions = 0;  ///< jobs completed between a demo's submission and its start (or the end)
  double max_wait_s = 0.0;          ///< a demo's submission to its start (or the end)

  friend bool operator==(const demo_result&, const demo_result&) = default;
};

struct result {
  scenario setup{};
  std::vector<tenant_result> tenants{};  ///< participants in order, then "instructor"
  std::size_t jobs_submitted = 0;
  std::size_t jobs_completed = 0;
  std::size_t preemptions = 0;  ///< runs interrupted for a demo
  double gpu_seconds = 0.0;
  double utilization = 0.0;     ///< busy worker time / (workers * length of the run)
  wait_stats wait{};            ///< every participant job that started (not the demos)
  fairness_result fairness{};
  late_joiner_result late_joiner{};
  demo_result demos{};

  friend bool operator==(const result&, const result&) = default;
};

/// Throws invalid_input naming the first field of `s` that makes no sense.
inline void validate(const scenario& s) {
  const duration longest_allowed = std::chrono::hours(100'000);
  auto check_duration = [&](const std::string& field, duration d, bool positive) {
    if (d < duration::zero() || (positive && d == duration::zero()) || d > longest_allowed) {
      throw invalid_input(field, std::string(positive ? "must be above 0" : "must not be negative") +
                                     " and at most 100000 hours (got " + std::to_string(d.count()) + " ms)");
    }
  };
  if (s.users < 1 || s.users > 1000) {
    throw invalid_input("users", "must be 1 to 1000 (got " + std::to_string(s.users) + ")");
  }
  if (s.workers < 1 || s.workers > 256) {
    throw invalid_input("workers", "must be 1 to 256 (got " + std::to_string(s.workers) + ")");
  }
  if (!(s.hours > 0.0 && s.hours <= 100'000.0)) {
    throw invalid_input("hours", "must be above 0 and at most 100000 (got " + std::to_string(s.hours) + ")");
  }
  if (s.outstanding < 1 || s.outstanding > 1000) {
    throw invalid_input("outstanding", "must be 1 to 1000 jobs per participant (got " + std::to_string(s.outstanding) + ")");
  }
  if (s.profiles.empty()) throw invalid_input("profiles", "needs at least one job profile");
  for (std::size_t i = 0; i < s.profiles.size(); ++i) {
    const job_profile& p = s.profiles[i];
    std::string field = "profiles[" + std::to_string(i) + "]";
    if (p.name.empty() || p.name.size() > 256) throw invalid_input(field + ".name", "must be 1 to 256 characters");
    check_duration(field + ".shortest", p.shortest, true);
    check_duration(field + ".longest", p.longest, true);
    if (p.longest < p.shortest) throw invalid_input(field + ".longest", "must not be below shortest");
  }
  check_duration("max_think", s.max_think, false);
  check_duration("max_stagger", s.max_stagger, false);
  check_duration("late_join_at", s.late_join_at, false);
  check_duration("first_demo_at", s.first_demo_at, false);
  check_duration("demo_every", s.demo_every, false);
  check_duration("demo_shortest", s.demo_shortest, true);
  check_duration("demo_longest", s.demo_longest, true);
  check_duration("jain_window", s.jain_window, true);
  if (s.demo_longest < s.demo_shortest) throw invalid_input("demo_longest", "must not be below demo_shortest");
}

}  // namespace comfyq::sim
