#pragma once
// The workshop simulator: capacity planning and fairness checks against the real scheduler.
// "20 people, 2 workers, 90-second jobs: how long will they wait?"
//
//   comfyq::sim::scenario workshop{.users = 20, .workers = 2,
//                                  .profiles = {{"ltx", std::chrono::seconds(80), std::chrono::seconds(100)}}};
//   comfyq::sim::result r = comfyq::sim::simulate(workshop);
//   r.wait.p95;             // seconds a participant's job waits, 95th percentile
//   r.fairness.jain;        // 1 = every backlogged participant got the same GPU time
//
// A discrete-event simulation in simulated time (milliseconds from epoch 0) that drives a
// comfyq::scheduler exactly as workers would: no I/O, no clock, the same result for the same
// seed on every platform. docs/simulator.md defines the scenario and every measurement.

#include <functional>

#include <nlohmann/json.hpp>

#include "comfyq/sim/scenario.hpp"
#include "comfyq/sim/detail/workshop.hpp"
#include "comfyq/model.hpp"

namespace comfyq::sim {

/// Told the fraction of simulated time done (0..1), at most once per percent of it, and 1 at the end.
using progress_sink = comfyq::sim::detail::workshop::progress_sink;

/// Runs the scenario to its end and measures it. Throws invalid_input naming a bad field.
inline result simulate(const scenario& setup, const progress_sink& progress = {}) {
  validate(setup);
  return comfyq::sim::detail::workshop(setup, progress).run();
}

// ---- JSON ----------------------------------------------------------------------------------
// As in comfyq/json.hpp, the scenario's durations are integer milliseconds in *_ms fields, the
// policy is its name, and an empty optional is left out. The measurements are seconds in *_s
// fields: they are averages and pro rata shares, read by people.

inline void to_json(nlohmann::json& j, const job_profile& p) {
  j = {{"name", p.name}, {"shortest_ms", p.shortest.count()}, {"longest_ms", p.longest.count()}};
}

inline void to_json(nlohmann::json& j, const scenario& s) {
  j = {{"users", s.users},
       {"workers", s.workers},
       {"policy", to_string(s.policy)},
       {"preemption", s.preemption},
       {"hours", s.hours},
       {"seed", s.seed},
       {"outstanding", s.outstanding},
       {"profiles", s.profiles},
       {"max_think_ms", s.max_think.count()},
       {"max_stagger_ms", s.max_stagger.count()},
       {"late_join_at_ms", s.late_join_at.count()},
       {"first_demo_at_ms", s.first_demo_at.count()},
       {"demo_every_ms", s.demo_every.count()},
       {"demo_shortest_ms", s.demo_shortest.count()},
       {"demo_longest_ms", s.demo_longest.count()},
       {"mixed_sizes", s.mixed_sizes},
       {"estimates", to_string(s.estimates)},
       {"jain_window_ms", s.jain_window.count()}};
}

inline void to_json(nlohmann::json& j, const wait_stats& w) {
  j = {{"jobs", w.jobs}, {"p50_s", w.p50}, {"p95_s", w.p95}, {"max_s", w.max}};
}

inline void to_json(nlohmann::json& j, const tenant_result& t) {
  j = {{"id", t.id},
       {"profile", t.profile},
       {"instructor", t.instructor},
       {"late_joiner", t.late_joiner},
       {"submitted", t.submitted},
       {"completed", t.completed},
       {"gpu_s", t.gpu_seconds},
       {"share", t.share},
       {"wait", t.wait}};
}

inline void to_json(nlohmann::json& j, const fairness_result& f) {
  j = {{"jain_tenants", f.jain_tenants},
       {"window_start_s", f.window_start_s},
       {"max_lag_s", f.max_lag_s},
       {"max_lag_tenant", f.max_lag_tenant},
       {"max_lag_at_s", f.max_lag_at_s},
       {"longest_job_s", f.longest_job_s},
       {"windows", f.windows}};
  if (f.jain) j["jain"] = *f.jain;
  if (f.windows_mean) j["windows_mean"] = *f.windows_mean;
  if (f.windows_min) j["windows_min"] = *f.windows_min;
}

inline void to_json(nlohmann::json& j, const late_joiner_result& l) {
  j = {{"joined", l.joined},
       {"started", l.started},
       {"joined_at_s", l.joined_at_s},
       {"completions", l.completions},
       {"wait_s", l.wait_s}};
}

inline void to_json(nlohmann::json& j, const demo_result& d) {
  j = {{"submitted", d.submitted},
       {"started", d.started},
       {"max_completions", d.max_completions},
       {"max_wait_s", d.max_wait_s}};
}

inline void to_json(nlohmann::json& j, const result& r) {
  j = {{"scenario", r.setup},
       {"jobs_submitted", r.jobs_submitted},
       {"jobs_completed", r.jobs_completed},
       {"preemptions", r.preemptions},
       {"gpu_s", r.gpu_seconds},
       {"utilization", r.utilization},
       {"wait", r.wait},
       {"fairness", r.fairness},
       {"late_joiner", r.late_joiner},
       {"demos", r.demos},
       {"tenants", r.tenants}};
}

}  // namespace comfyq::sim
