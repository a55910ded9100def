// comfyq-sim: how a workshop would go under each policy, simulated against the real scheduler.
// "With 20 people and 2 workers, how long will they wait?" See docs/simulator.md.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "comfyq/sim/simulate.hpp"

namespace {

constexpr int bad_usage = 2;

struct options {
  std::uint32_t users = 20;
  std::vector<std::uint32_t> workers{1, 3};
  std::string policy = "all";
  double hours = 8.0;
  std::uint64_t seed = 1;
  bool preemption = false;
  double late_join_at_min = 120.0;
  double demo_every_min = 60.0;
  std::uint32_t outstanding = 3;
  std::vector<std::string> profiles{};
  std::vector<std::string> estimates{"cost_literals"};
  double jain_window_min = 30.0;
  bool mixed_sizes = false;
  bool json = false;
  bool tenants = false;
};

// "ltx:80-100" (uniform 80 to 100 seconds) or "ltx:90" (always 90 seconds).
std::optional<comfyq::sim::job_profile> parse_profile(const std::string& text) {
  auto colon = text.find(':');
  if (colon == 0 || colon == std::string::npos) return std::nullopt;
  std::string range = text.substr(colon + 1);
  auto dash = range.find('-');
  double shortest = 0, longest = 0;
  try {
    std::size_t used = 0;
    shortest = std::stod(range.substr(0, dash), &used);
    if (used != (dash == std::string::npos ? range.size() : dash)) return std::nullopt;
    longest = shortest;
    if (dash != std::string::npos) {
      longest = std::stod(range.substr(dash + 1), &used);
      if (used != range.size() - dash - 1) return std::nullopt;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!(shortest > 0 && longest >= shortest && longest <= 86'400)) return std::nullopt;
  auto ms = [](double s) { return comfyq::duration{std::llround(s * 1000.0)}; };
  return comfyq::sim::job_profile{.name = text.substr(0, colon), .shortest = ms(shortest), .longest = ms(longest)};
}

comfyq::duration minutes(double m) { return comfyq::duration{std::llround(m * 60'000.0)}; }

std::string label(const comfyq::sim::scenario& s) {
  std::string text = std::string(comfyq::to_string(s.policy)) + (s.preemption ? " + preemption" : "");
  if (s.estimates != comfyq::sim::scenario{}.estimates) text += ", " + std::string(comfyq::sim::to_string(s.estimates));
  return text;
}

// The rows of one table: every policy asked for, and fair_share with preemption when asked for all.
std::vector<comfyq::sim::scenario> runs_for(const options& o, std::uint32_t workers) {
  comfyq::sim::scenario base{.users = o.users,
                             .workers = workers,
                             .preemption = o.preemption,
                             .hours = o.hours,
                             .seed = o.seed,
                             .outstanding = o.outstanding,
                             .late_join_at = minutes(o.late_join_at_min),
                             .demo_every = minutes(o.demo_every_min),
                             .mixed_sizes = o.mixed_sizes,
                             .jain_window = minutes(o.jain_window_min)};
  if (!o.profiles.empty()) {
    base.profiles.clear();
    for (const std::string& p : o.profiles) base.profiles.push_back(*parse_profile(p));
  }
  std::vector<comfyq::sim::scenario> runs;
  auto add = [&](comfyq::policy p, bool preemption) {
    for (const std::string& e : o.estimates) {
      runs.push_back(base);
      runs.back().policy = p;
      runs.back().preemption = preemption;
      runs.back().estimates = *comfyq::sim::parse_job_estimates(e);
    }
  };
  if (o.policy == "all") {
    for (comfyq::policy p : {comfyq::policy::fifo, comfyq::policy::round_robin, comfyq::policy::fair_share}) add(p, false);
    if (o.preemption) add(comfyq::policy::fair_share, true);
  } else {
    add(*comfyq::parse_policy(o.policy), o.preemption);
  }
  return runs;
}

std::string seconds_range(comfyq::duration a, comfyq::duration b) {
  double x = static_cast<double>(a.count()) / 1000.0, y = static_cast<double>(b.count()) / 1000.0;
  return a == b ? fmt::format("{:g} s", x) : fmt::format("{:g}-{:g} s", x, y);
}

std::string describe(const options& o, const comfyq::sim::scenario& s) {
  std::string profiles;
  for (const auto& p : s.profiles) {
    profiles += fmt::format("{}{} {}", profiles.empty() ? "" : ", ", p.name, seconds_range(p.shortest, p.longest));
  }
  std::string text = fmt::format("{} users ({}{}), {} job{} outstanding each, think 0-{:g} s, {:g} h", s.users, profiles,
                                 s.profiles.size() > 1 ? ", assigned in turn" : "", s.outstanding,
                                 s.outstanding == 1 ? "" : "s", static_cast<double>(s.max_think.count()) / 1000.0, s.hours);
  text += s.late_join_at.count() > 0 ? fmt::format(", late joiner at {:g} min", o.late_join_at_min) : ", no late joiner";
  text += s.demo_every.count() > 0
              ? fmt::format(", demos every {:g} min from {:g} min ({})", o.demo_every_min,
                            static_cast<double>(s.first_demo_at.count()) / 60'000.0,
                            seconds_range(s.demo_shortest, s.demo_longest))
              : ", no demos";
  return text + fmt::format(", seed {}", s.seed);
}

std::string late_joiner_cell(const comfyq::sim::late_joiner_result& l) {
  if (!l.joined) return "-";
  if (!l.started) return fmt::format("{}, {:.1f} (not started)", l.completions, l.wait_s);
  return fmt::format("{}, {:.1f}", l.completions, l.wait_s);
}

std::string demos_cell(const comfyq::sim::demo_result& d) {
  if (d.submitted == 0) return "-";
  std::string text = fmt::format("{}, {:.1f}", d.max_completions, d.max_wait_s);
  if (d.started < d.submitted) text += fmt::format(" ({} not started)", d.submitted - d.started);
  return text;
}

void print_table(std::uint32_t workers, const std::vector<comfyq::sim::result>& results) {
  fmt::print("\n{} worker{}\n\n", workers, workers == 1 ? "" : "s");
  fmt::print("| {:<24} | {:<11} | {:<17} | {:>9} | {:>13} | {:<22} | {:>11} | {:>9} | {:<33} | {:<36} |\n", "policy",
             "Jain (n)", "Jain windows mean / min", "max lag s", "longest job s", "wait p50 / p95 / max s", "utilization",
             "jobs done", "late joiner (completions, wait s)", "demos (max completions, max wait s)");
  fmt::print("|{:-<26}|{:-<13}|{:-<19}|{:->11}|{:->15}|{:-<24}|{:->13}|{:->11}|{:-<35}|{:-<38}|\n", "", "", "", ":", ":", "",
             ":", ":", "", "");
  for (const comfyq::sim::result& r : results) {
    std::string jain = r.fairness.jain ? fmt::format("{:.4f} ({})", *r.fairness.jain, r.fairness.jain_tenants) : "n/a (0)";
    std::string windows = r.fairness.windows_mean
                              ? fmt::format("{:.4f} / {:.4f}", *r.fairness.windows_mean, *r.fairness.windows_min)
                              : "n/a";
    std::string wait = fmt::format("{:.0f} / {:.0f} / {:.0f}", r.wait.p50, r.wait.p95, r.wait.max);
    fmt::print("| {:<24} | {:<11} | {:<17} | {:>9.1f} | {:>13.1f} | {:<22} | {:>10.1f}% | {:>9} | {:<33} | {:<36} |\n",
               label(r.setup), jain, windows, r.fairness.max_lag_s, r.fairness.longest_job_s, wait, r.utilization * 100.0, r.jobs_completed,
               late_joiner_cell(r.late_joiner), demos_cell(r.demos));
  }
}

void print_tenants(const comfyq::sim::result& r) {
  fmt::print("\n{}, {} worker{}: per tenant\n\n", label(r.setup), r.setup.workers, r.setup.workers == 1 ? "" : "s");
  fmt::print("| {:<12} | {:<8} | {:>9} | {:>8} | {:>6} | {:<22} |\n", "tenant", "profile", "jobs done", "GPU s", "share",
             "wait p50 / p95 / max s");
  fmt::print("|{:-<14}|{:-<10}|{:->11}|{:->10}|{:->8}|{:-<24}|\n", "", "", ":", ":", ":", "");
  for (const comfyq::sim::tenant_result& t : r.tenants) {
    std::string id = t.id + (t.late_joiner ? " *" : "");
    std::string wait = t.wait.jobs == 0 ? "-" : fmt::format("{:.0f} / {:.0f} / {:.0f}", t.wait.p50, t.wait.p95, t.wait.max);
    fmt::print("| {:<12} | {:<8} | {:>9} | {:>8.1f} | {:>5.1f}% | {:<22} |\n", id, t.profile, t.completed, t.gpu_seconds,
               t.share * 100.0, wait);
  }
  if (r.late_joiner.joined) fmt::print("\n* late joiner\n");
}

// Shows progress on stderr only for runs that take noticeably long (e.g. --hours 1000).
comfyq::sim::progress_sink progress_for(const std::string& label, bool& shown) {
  auto started = std::chrono::steady_clock::now();
  return [label, started, &shown](double done) {
    if (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500)) return;
    std::fprintf(stderr, "\rcomfyq-sim: %s: %3.0f%%", label.c_str(), done * 100.0);
    std::fflush(stderr);
    shown = true;
  };
}

comfyq::sim::result simulate_with_progress(const comfyq::sim::scenario& s) {
  bool shown = false;
  std::string what = fmt::format("{}, {} worker{}", label(s), s.workers, s.workers == 1 ? "" : "s");
  comfyq::sim::result result = comfyq::sim::simulate(s, progress_for(what, shown));
  if (shown) std::fprintf(stderr, "\rcomfyq-sim: %s: done\n", what.c_str());
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Simulates a workshop against the real comfyq scheduler and compares the policies: waits, "
               "fairness (Jain's index, lag behind fair share), the late joiner and the instructor's demos.",
               "comfyq-sim"};
  app.add_option("--users", o.users, "participants, user01..userN")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--workers", o.workers, "worker counts to compare; repeat the flag or give a comma list")
      ->delimiter(',')
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--policy", o.policy, "fifo, round_robin, fair_share, or all")
      ->check(CLI::IsMember({"fifo", "round_robin", "fair_share", "all"}))
      ->capture_default_str();
  app.add_option("--hours", o.hours, "simulated hours, above 0 and at most 100000")
      ->check(CLI::Validator(
          [](std::string& text) {
            double hours = std::strtod(text.c_str(), nullptr);
            return hours > 0 && hours <= 100'000 ? std::string() : "must be above 0 and at most 100000 (got " + text + ")";
          },
          "HOURS"))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "random seed: the same seed gives the same run")
      ->check(CLI::Validator(
          [](std::string& text) {
            std::uint64_t seed = 0;
            auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seed);
            bool whole = !text.empty() && error == std::errc() && end == text.data() + text.size();
            return whole ? std::string() : "must be a whole number from 0 to 18446744073709551615 (got " + text + ")";
          },
          "UINT"))
      ->capture_default_str();
  app.add_flag("--preemption", o.preemption,
               "demos interrupt a running job (with --policy all: adds a fair_share + preemption row)");
  app.add_option("--late-join-at-min", o.late_join_at_min, "minute the last participant arrives; 0: no late joiner")
      ->check(CLI::Range(0.0, 6'000'000.0))
      ->capture_default_str();
  app.add_option("--demo-every-min", o.demo_every_min, "minutes between the instructor's demos (first at 30); 0: none")
      ->check(CLI::Range(0.0, 6'000'000.0))
      ->capture_default_str();
  app.add_option("--outstanding", o.outstanding, "jobs each participant keeps queued or running")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--profile", o.profiles,
                 "job profile NAME:MIN-MAX or NAME:SECONDS, repeatable, assigned to participants in turn "
                 "(default short:10-30 medium:60-180 long:300-600)")
      ->check(CLI::Validator(
          [](std::string& text) {
            return parse_profile(text) ? std::string() : "'" + text + "' is not NAME:MIN-MAX or NAME:SECONDS (seconds, "
                                                             "0 < MIN <= MAX <= 86400), e.g. ltx:80-100";
          },
          "NAME:MIN-MAX", "profile"));
  app.add_flag("--mixed-sizes", o.mixed_sizes,
               "every job draws its profile at random (one workflow at several sizes) instead of each participant "
               "keeping to one");
  app.add_option("--estimates", o.estimates,
                 "what the scheduler is told of a job's cost: structure_only (one average per profile), "
                 "cost_literals (the profile and the job's size, as workflow_shape() keys real workflows), exact "
                 "(each job's length as its submitter's estimate); a comma list runs each")
      ->delimiter(',')
      ->check(CLI::IsMember({"structure_only", "cost_literals", "exact"}))
      ->capture_default_str();
  app.add_option("--jain-window-min", o.jain_window_min, "length of the windows of the per-window Jain's index, minutes")
      ->check(CLI::Range(1.0, 6'000'000.0))
      ->capture_default_str();
  app.add_flag("--json", o.json, "print the results as JSON");
  app.add_flag("--tenants", o.tenants, "also print a per-tenant table for every run");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : bad_usage;
  }

  try {
    nlohmann::json json_runs = nlohmann::json::array();
    bool described = false;
    for (std::uint32_t workers : o.workers) {
      std::vector<comfyq::sim::result> results;
      for (const comfyq::sim::scenario& s : runs_for(o, workers)) {
        if (!o.json && !described) {
          fmt::print("comfyq-sim: {}\n", describe(o, s));
          described = true;
        }
        results.push_back(simulate_with_progress(s));
        if (o.json) json_runs.push_back(results.back());
      }
      if (o.json) continue;
      print_table(workers, results);
      if (o.tenants) {
        for (const comfyq::sim::result& r : results) print_tenants(r);
      }
    }
    if (o.json) std::cout << nlohmann::json{{"runs", json_runs}}.dump(2) << '\n';
  } catch (const comfyq::invalid_input& e) {
    std::fprintf(stderr, "comfyq-sim: %s\n", e.what());
    return bad_usage;
  }
  return 0;
}
