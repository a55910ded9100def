#pragma once
// The workshop as a discrete-event simulation around the real comfyq::scheduler. Simulated
// time is integer milliseconds from epoch 0. Everything that happens at one instant is
// handled in a fixed order (runs ending, by worker; demos; participants, by number), and
// every person draws from random streams of its own, so a seed gives the same run anywhere.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "comfyq/sim/detail/fairness.hpp"
#include "comfyq/sim/detail/random.hpp"
#include "comfyq/sim/scenario.hpp"
#include "comfyq/events.hpp"
#include "comfyq/scheduler.hpp"
#include "comfyq/workflow.hpp"

namespace comfyq::sim::detail {

class workshop {
 public:
  /// Told the fraction of simulated time done, at most once per percent, and 1 at the end.
  using progress_sink = std::function<void(double)>;

  workshop(const sim::scenario& setup, progress_sink progress)
      : setup_(setup),
        horizon_(std::llround(setup.hours * 3'600'000.0)),
        queue_(config(setup, horizon_)),
        progress_(std::move(progress)),
        ledger_(setup.users + 1),
        lag_(std::vector<double>(setup.users, tenant_config{}.weight)),
        outstanding_(setup.users, 0) {
    for (std::uint32_t i = 0; i < setup.users; ++i) {
      const sim::job_profile& profile = setup.profiles[i % setup.profiles.size()];
      people_.push_back(person{.id = user_id(i, setup.users),
                               .shape = profile.name,
                               .shortest = profile.shortest.count(),
                               .longest = profile.longest.count(),
                               .late_joiner = setup.late_join_at > duration::zero() && i + 1 == setup.users,
                               .lengths = xoshiro256ss::stream(setup.seed, 2 * (i + 1)),
                               .timing = xoshiro256ss::stream(setup.seed, 2 * (i + 1) + 1)});
    }
    people_.push_back(person{.id = "instructor",
                             .shape = "demo",
                             .shortest = setup.demo_shortest.count(),
                             .longest = setup.demo_longest.count(),
                             .instructor = true,
                             .lengths = xoshiro256ss::stream(setup.seed, 0),
                             .timing = xoshiro256ss::stream(setup.seed, 1)});
    for (std::uint32_t w = 0; w < setup.workers; ++w) machines_.push_back(machine{.id = "worker" + std::to_string(w + 1)});
    queue_.on_event([this](const event& e) {
      if (e.type == event_type::preempt_requested) preempt_requests_.push_back(e.job);
    });
  }

  sim::result run() {
    for (const person& p : people_) queue_.set_tenant({.id = p.id, .weight = p.weight}, at(0));
    lease_idle(0);  // the workers introduce themselves
    for (std::uint32_t i = 0; i < setup_.users; ++i) {
      std::int64_t stagger = people_[i].timing.uniform_int(0, setup_.max_stagger.count());
      std::int64_t arrival = people_[i].late_joiner ? setup_.late_join_at.count() : stagger;
      schedule(arrival, kind::user_arrives, i);
      if (arrival < horizon_) window_start_ = std::max(window_start_, arrival);
    }
    if (setup_.demo_every > duration::zero()) schedule(setup_.first_demo_at.count(), kind::demo_arrives, 0);

    const std::int64_t report_every = std::max<std::int64_t>(horizon_ / 100, 1);
    std::int64_t next_report = report_every;
    window_services_.assign(setup_.users, 0);
    while (!pending_.empty() && pending_.top().at < horizon_) {
      const std::int64_t now = pending_.top().at;
      close_windows(now);
      lag_.observe(now, ledger_);
      while (!pending_.empty() && pending_.top().at == now) {
        happening h = pending_.top();
        pending_.pop();
        handle(h, now);
      }
      lag_.settle(now, outstanding_, ledger_);
      lag_.observe(now, ledger_);
      if (now == window_start_) {
        for (std::uint32_t i = 0; i < setup_.users; ++i) window_snapshot_.push_back(ledger_.service(i, now));
      }
      if (progress_ && now >= next_report) {
        progress_(static_cast<double>(now) / static_cast<double>(horizon_));
        next_report = (now / report_every + 1) * report_every;
      }
    }
    close_windows(horizon_);
    lag_.observe(horizon_, ledger_);
    if (progress_) progress_(1.0);
    return summary();
  }

 private:
  enum class kind : std::uint8_t { run_ends, demo_arrives, user_arrives, user_submits };

  // Instants first; within one, runs ending (by worker), then demos, then participants (by number).
  struct happening {
    std::int64_t at = 0;
    kind what = kind::run_ends;
    std::uint32_t who = 0;     ///< worker or participant index
    std::uint64_t token = 0;   ///< run_ends: the lease it ends; stale once the run was interrupted
    std::uint64_t order = 0;   ///< scheduling order, for a total order
    bool operator>(const happening& o) const {
      return std::tie(at, what, who, order) > std::tie(o.at, o.what, o.who, o.order);
    }
  };
  struct person {
    std::string id{};
    std::string shape{};  ///< its job profile's name, sent as the jobs' workflow shape
    std::int64_t shortest = 0, longest = 0;
    double weight = tenant_config{}.weight;
    bool instructor = false;
    bool late_joiner = false;
    // Separate streams, so that the n-th job's length and the n-th pause are the same under every
    // policy, however submissions and completions interleave.
    xoshiro256ss lengths{0};
    xoshiro256ss timing{0};  ///< arrival, then thinking after each completion
    std::size_t submitted = 0, completed = 0;
    std::vector<std::int64_t> waits{};
    std::int64_t joined_at = -1, first_start = -1;
    std::uint64_t completions_at_join = 0, completions_before_start = 0;
  };
  struct sim_job {
    std::uint32_t tenant = 0;
    std::int64_t length = 0;
    std::int64_t submitted = 0;
    std::int64_t first_start = -1;
    std::uint64_t completions_at_submit = 0;
  };
  struct machine {
    std::string id{};
    bool busy = false;
    std::size_t job = 0;
    std::string job_id{};
    std::uint64_t token = 0;
    std::int64_t started = 0;
  };

  static scheduler_config config(const sim::scenario& s, std::int64_t horizon) {
    // Simulated workers never die and no lease expires: the run is about the order of work.
    duration longest_job = s.demo_longest;
    for (const sim::job_profile& p : s.profiles) longest_job = std::max(longest_job, p.longest);
    const duration forever = duration{horizon} + longest_job + std::chrono::hours(24);
    return scheduler_config{.policy = s.policy, .lease_ttl = forever, .worker_ttl = forever, .preemption = s.preemption};
  }

  static std::string user_id(std::uint32_t i, std::uint32_t users) {
    std::string number = std::to_string(i + 1);
    std::size_t width = std::max<std::size_t>(2, std::to_string(users).size());
    return "user" + std::string(width - number.size(), '0') + number;
  }

  static time_point at(std::int64_t ms) { return time_point{duration{ms}}; }

  void schedule(std::int64_t when, kind what, std::uint32_t who, std::uint64_t token = 0) {
    pending_.push(happening{when, what, who, token, ++scheduled_});
  }

  void handle(const happening& h, std::int64_t now) {
    switch (h.what) {
      case kind::run_ends: {
        machine& m = machines_[h.who];
        if (m.busy && m.token == h.token) end_run(m, now);
        break;
      }
      case kind::demo_arrives:
        submit(setup_.users, now, true);
        schedule(now + setup_.demo_every.count(), kind::demo_arrives, 0);
        break;
      case kind::user_arrives:
        for (std::uint32_t k = 0; k < setup_.outstanding; ++k) submit(h.who, now, false);
        break;
      case kind::user_submits:
        submit(h.who, now, false);
        break;
    }
  }

  void submit(std::uint32_t tenant, std::int64_t now, bool priority) {
    person& p = people_[tenant];
    if (p.joined_at < 0) {
      p.joined_at = now;
      p.completions_at_join = completions_;
    }
    jobs_.push_back(sim_job{.tenant = tenant,
                            .length = draw_length(p),
                            .submitted = now,
                            .completions_at_submit = completions_});
    std::string id = queue_.submit(request_for(p, jobs_.back().length, priority), at(now));
    job_index_.emplace(std::move(id), jobs_.size() - 1);
    ++p.submitted;
    if (!p.instructor) ++outstanding_[tenant];
    answer_preemptions(now);
    lease_idle(now);
  }

  // The next job's length: from the participant's profile, or from one drawn for the job.
  std::int64_t draw_length(person& p) const {
    if (!setup_.mixed_sizes || p.instructor) return p.lengths.uniform_int(p.shortest, p.longest);
    const auto last = static_cast<std::int64_t>(setup_.profiles.size()) - 1;
    const sim::job_profile& profile = setup_.profiles[static_cast<std::size_t>(p.lengths.uniform_int(0, last))];
    return p.lengths.uniform_int(profile.shortest.count(), profile.longest.count());
  }

  // What the scheduler is told of a job of `length` ms (scenario::estimates).
  submit_request request_for(const person& p, std::int64_t length, bool priority) const {
    const std::string structure = setup_.mixed_sizes && !p.instructor ? "mixed" : p.shape;
    submit_request r{.tenant = p.id, .workflow = "{}", .shape = structure, .priority = priority};
    switch (setup_.estimates) {
      case sim::job_estimates::structure_only: break;
      case sim::job_estimates::cost_literals: r.shape += "/" + comfyq::detail::cost_bucket(length); break;
      case sim::job_estimates::exact: r.estimate = duration{length}; break;
    }
    return r;
  }

  // Jain's index of every window of jain_window that ended by `now`: the state since the last
  // instant holds until now, so the windows' ends see it as it was.
  void close_windows(std::int64_t now) {
    const std::int64_t length = setup_.jain_window.count();
    for (std::int64_t end = window_begin_ + length; end <= now; end = window_begin_ + length) {
      std::vector<double> received;
      for (std::uint32_t i = 0; i < setup_.users; ++i) {
        if (lag_.backlogged(i) && lag_.backlogged_since(i) <= window_begin_) {
          received.push_back(static_cast<double>(ledger_.service(i, end) - window_services_[i]) / people_[i].weight);
        }
      }
      if (received.size() >= 2) windows_.push_back(*jain_index(received));
      for (std::uint32_t i = 0; i < setup_.users; ++i) window_services_[i] = ledger_.service(i, end);
      window_begin_ = end;
    }
  }

  // The workers of runs the scheduler wants interrupted give them back at once.
  void answer_preemptions(std::int64_t now) {
    std::vector<std::string> requests = std::move(preempt_requests_);
    preempt_requests_.clear();
    for (const std::string& id : requests) {
      for (machine& m : machines_) {
        if (!m.busy || m.job_id != id) continue;
        queue_.release(m.job_id, m.token, at(now));
        ledger_.stop(jobs_[m.job].tenant, m.started, now);
        m.busy = false;
        ++preemptions_;
      }
    }
  }

  void lease_idle(std::int64_t now) {
    for (machine& m : machines_) {
      if (m.busy) continue;
      if (std::optional<comfyq::lease> l = queue_.lease(m.id, at(now))) begin_run(m, *l, now);
    }
  }

  void begin_run(machine& m, const comfyq::lease& l, std::int64_t now) {
    std::size_t index = job_index_.at(l.job_id);
    sim_job& j = jobs_[index];
    person& p = people_[j.tenant];
    if (j.first_start < 0) {
      j.first_start = now;
      p.waits.push_back(now - j.submitted);
      if (p.instructor) note_demo(completions_ - j.completions_at_submit, now - j.submitted);
    }
    if (p.first_start < 0) {
      p.first_start = now;
      p.completions_before_start = completions_ - p.completions_at_join;
    }
    m.busy = true;
    m.job = index;
    m.job_id = l.job_id;
    m.token = l.token;
    m.started = now;
    ledger_.start(j.tenant, now);
    longest_job_ = std::max(longest_job_, j.length);
    schedule(now + j.length, kind::run_ends, static_cast<std::uint32_t>(&m - machines_.data()), l.token);
  }

  void end_run(machine& m, std::int64_t now) {
    sim_job& j = jobs_[m.job];
    person& p = people_[j.tenant];
    queue_.complete(m.job_id, m.token, {}, at(now));
    ledger_.stop(j.tenant, m.started, now);
    job_index_.erase(m.job_id);
    m.busy = false;
    ++completions_;
    ++p.completed;
    if (!p.instructor) {
      --outstanding_[j.tenant];
      schedule(now + p.timing.uniform_int(0, setup_.max_think.count()), kind::user_submits, j.tenant);
    }
    lease_idle(now);
  }

  void note_demo(std::uint64_t completions, std::int64_t wait) {
    demo_completions_ = std::max(demo_completions_, completions);
    demo_wait_ = std::max(demo_wait_, wait);
  }

  static double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

  static sim::wait_stats wait_stats(std::vector<std::int64_t> waits) {
    if (waits.empty()) return {};
    std::sort(waits.begin(), waits.end());
    return sim::wait_stats{.jobs = waits.size(),
                           .p50 = seconds(nearest_rank(waits, 0.50)),
                           .p95 = seconds(nearest_rank(waits, 0.95)),
                           .max = seconds(waits.back())};
  }

  sim::result summary() {
    sim::result r{.setup = setup_, .jobs_submitted = jobs_.size(), .jobs_completed = completions_, .preemptions = preemptions_};
    std::int64_t total = 0;
    for (std::size_t i = 0; i < people_.size(); ++i) total += ledger_.service(i, horizon_);
    std::vector<std::int64_t> participant_waits;
    for (std::size_t i = 0; i < people_.size(); ++i) {
      const person& p = people_[i];
      std::int64_t service = ledger_.service(i, horizon_);
      r.tenants.push_back(sim::tenant_result{
          .id = p.id,
          .profile = p.shape,
          .instructor = p.instructor,
          .late_joiner = p.late_joiner,
          .submitted = p.submitted,
          .completed = p.completed,
          .gpu_seconds = seconds(service),
          .share = total > 0 ? static_cast<double>(service) / static_cast<double>(total) : 0.0,
          .wait = wait_stats(p.waits)});
      if (!p.instructor) participant_waits.insert(participant_waits.end(), p.waits.begin(), p.waits.end());
    }
    r.gpu_seconds = seconds(total);
    r.utilization = static_cast<double>(total) / (static_cast<double>(setup_.workers) * static_cast<double>(horizon_));
    r.wait = wait_stats(std::move(participant_waits));
    r.fairness = fairness();
    r.late_joiner = late_joiner();
    r.demos = demos();
    return r;
  }

  sim::fairness_result fairness() const {
    sim::fairness_result f;
    if (!window_snapshot_.empty()) {
      std::vector<double> received;
      for (std::uint32_t i = 0; i < setup_.users; ++i) {
        if (lag_.backlogged(i) && lag_.backlogged_since(i) <= window_start_) {
          received.push_back(static_cast<double>(ledger_.service(i, horizon_) - window_snapshot_[i]) / people_[i].weight);
        }
      }
      f.jain = jain_index(received);
      f.jain_tenants = received.size();
      f.window_start_s = seconds(window_start_);
    }
    const lag_tracker::peak& peak = lag_.largest();
    if (peak.lag_ms > 0.0) {
      f.max_lag_s = peak.lag_ms / 1000.0;
      f.max_lag_tenant = people_[peak.tenant].id;
      f.max_lag_at_s = seconds(peak.at);
    }
    f.longest_job_s = seconds(longest_job_);
    f.windows = windows_;
    if (!windows_.empty()) {
      double sum = 0.0;
      for (double w : windows_) sum += w;
      f.windows_mean = sum / static_cast<double>(windows_.size());
      f.windows_min = *std::min_element(windows_.begin(), windows_.end());
    }
    return f;
  }

  sim::late_joiner_result late_joiner() const {
    sim::late_joiner_result l;
    if (setup_.late_join_at == duration::zero()) return l;
    const person& p = people_[setup_.users - 1];
    if (p.joined_at < 0) return l;
    l.joined = true;
    l.joined_at_s = seconds(p.joined_at);
    l.started = p.first_start >= 0;
    l.completions = l.started ? p.completions_before_start : completions_ - p.completions_at_join;
    l.wait_s = seconds((l.started ? p.first_start : horizon_) - p.joined_at);
    return l;
  }

  sim::demo_result demos() const {
    sim::demo_result d;
    std::uint64_t most_completions = demo_completions_;
    std::int64_t longest_wait = demo_wait_;
    for (const sim_job& j : jobs_) {
      if (j.tenant != setup_.users) continue;
      ++d.submitted;
      if (j.first_start >= 0) {
        ++d.started;
      } else {  // still waiting at the end
        most_completions = std::max(most_completions, completions_ - j.completions_at_submit);
        longest_wait = std::max(longest_wait, horizon_ - j.submitted);
      }
    }
    d.max_completions = most_completions;
    d.max_wait_s = seconds(longest_wait);
    return d;
  }

  sim::scenario setup_;
  std::int64_t horizon_;
  scheduler queue_;
  progress_sink progress_;
  std::vector<person> people_;  ///< participants, then the instructor (index users)
  std::vector<machine> machines_;
  std::vector<sim_job> jobs_;
  std::unordered_map<std::string, std::size_t> job_index_;  ///< scheduler id -> jobs_, while not finished
  std::priority_queue<happening, std::vector<happening>, std::greater<>> pending_;
  std::uint64_t scheduled_ = 0;
  std::vector<std::string> preempt_requests_;
  service_ledger ledger_;
  lag_tracker lag_;
  std::vector<std::uint32_t> outstanding_;  ///< participants' jobs queued or running
  std::int64_t window_start_ = -1;
  std::vector<std::int64_t> window_snapshot_;
  std::int64_t window_begin_ = 0;  ///< of the jain_window being measured
  std::vector<std::int64_t> window_services_;  ///< S_i at window_begin_
  std::vector<double> windows_;
  std::uint64_t completions_ = 0;
  std::size_t preemptions_ = 0;
  std::int64_t longest_job_ = 0;
  std::uint64_t demo_completions_ = 0;
  std::int64_t demo_wait_ = 0;
};

}  // namespace comfyq::sim::detail
