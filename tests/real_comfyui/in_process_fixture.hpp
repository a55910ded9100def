#pragma once
// comfyq::comfyui::worker on a thread of the test, on a memory store, driving the process's real
// ComfyUI, with production's waits except where a test on 2 CPU cores needs longer. Each test
// gets a tenant of its own, job ids no other test has (the shared ComfyUI keeps every prompt's
// history and outputs), and a folder in the build tree with the tenants' files and the worker's
// log, kept after the run.

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/comfyui/worker.hpp"
#include "comfyq/store/memory.hpp"
#include "real_comfyui/comfyui_probe.hpp"
#include "real_comfyui/job_wait.hpp"
#include "real_comfyui/real_comfyui.hpp"

namespace comfyq::testing::real {

using namespace std::chrono_literals;

/// The worker's options: production's heartbeat (10 s) and reconnect_wait (20 s), so that what
/// the tests measure is what an operator gets.
inline comfyui::worker_options real_options() {
  comfyui::worker_options options;
  options.id = "gpu0";
  options.idle_wait = 200ms;
  // ComfyUI interrupts between nodes, so a running ImageBlur finishes first: 5-13 s on 2 idle
  // cores, over 30 s (the default) on busy ones.
  options.interrupt_wait = 120s;
  options.backoff = {.initial = 100ms, .max = 2s, .factor = 2.0};
  return options;
}

/// The worker's log records with the time each came, also written as JSON lines to a file.
class timed_log {
 public:
  using clock = std::chrono::steady_clock;

  explicit timed_log(const std::filesystem::path& file) : file_(file) {}

  comfyui::log_sink sink() {
    return [this](const comfyui::log_record& record) {
      const std::lock_guard lock(mutex_);
      records_.emplace_back(clock::now(), record);
      file_ << comfyui::to_json_line(record).dump() << '\n' << std::flush;
    };
  }

  /// When the worker first logged `event` for job `job`, if it did.
  std::optional<clock::time_point> first(std::string_view event, std::string_view job) const {
    const std::lock_guard lock(mutex_);
    for (const auto& [at, record] : records_) {
      if (record.event == event && record.fields.value("job", "") == job) return at;
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::ofstream file_;
  std::vector<std::pair<clock::time_point, comfyui::log_record>> records_;
};

class in_process_fixture {
 public:
  explicit in_process_fixture(std::string tenant_name, comfyui::worker_options options = real_options())
      : comfyui(shared_comfyui()),
        tenant(std::move(tenant_name)),
        folder(prepare(comfyui, tenant)),
        files(folder / "tenants"),
        log(folder / "worker.log"),
        worker_(queue, comfyui::http_client(comfyui::client_options{.host = "127.0.0.1", .port = comfyui.port()}),
                files, files, std::move(options), log.sink()) {
    runner_ = std::thread([this] {
      try {
        worker_.run();
      } catch (...) {
        const std::lock_guard lock(failure_mutex_);
        failure_ = std::current_exception();
      }
      running_ = false;
    });
  }

  in_process_fixture(const in_process_fixture&) = delete;
  in_process_fixture& operator=(const in_process_fixture&) = delete;

  ~in_process_fixture() {
    worker_.request_stop();
    runner_.join();
  }

  /// Queues `graph` for the test's tenant, under a job id no other test of this process uses:
  /// the job id is the prompt_id in ComfyUI, whose history outlives the test.
  std::string submit(const nlohmann::json& graph) {
    static std::atomic<unsigned> submitted{0};
    return queue.submit({.tenant = tenant, .workflow = graph.dump(), .id = tenant + "-" + std::to_string(++submitted)});
  }

  /// Waits until job `id` is finished; the test fails after `timeout`, naming the logs to read.
  /// The default covers the blocker on 2 busy cores (about 35 s) twice over.
  comfyq::job wait_until_finished(const std::string& id, std::chrono::seconds timeout = 90s) {
    return real::wait_until_finished(queue, id, timeout,
                                     "worker log " + (folder / "worker.log").string() + ", ComfyUI log " +
                                         comfyui.log_file().string());
  }

  /// Waits until ComfyUI runs `prompt_id` (its queue_running lists it); fails the test after 2 minutes.
  void wait_until_comfyui_runs(const std::string& prompt_id) {
    const auto [runs, last] =
        wait_for_queue(comfyui, std::chrono::minutes(2), [&](const queue_state& q) { return q.runs(prompt_id); });
    INFO("ComfyUI's queue: " << last.describe() << "; worker log " << (folder / "worker.log"));
    REQUIRE(runs);
  }

  /// Whether worker.run() still runs; the exception that ended it, if one did.
  bool worker_running() const noexcept { return running_.load(); }
  std::string worker_failure() const {
    const std::lock_guard lock(failure_mutex_);
    if (!failure_) return "";
    try {
      std::rethrow_exception(failure_);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "an exception that is not a std::exception";
    }
  }

  /// The events the store logged for job `id`.
  std::vector<comfyq::event> events_of(const std::string& id) {
    std::vector<comfyq::event> found;
    for (const auto& e : queue.read_events("0", 100'000, comfyq::duration::zero())) {
      if (e.value.job == id) found.push_back(e.value);
    }
    return found;
  }

  real_comfyui& comfyui;
  std::string tenant;
  std::filesystem::path folder;  ///< <work>/cases/<tenant>: tenants/ and worker.log
  store::memory queue;
  comfyui::tenant_directory files;
  timed_log log;

 private:
  // A clean folder for the test, and a ComfyUI with nothing left running from an earlier test.
  static std::filesystem::path prepare(const real_comfyui& comfyui, const std::string& tenant) {
    const auto folder = std::filesystem::path(COMFYQ_REAL_COMFYUI_WORK_DIR) / "cases" / tenant;
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    settle(comfyui);
    return folder;
  }

  comfyui::worker worker_;
  std::thread runner_;
  std::atomic<bool> running_{true};
  mutable std::mutex failure_mutex_;
  std::exception_ptr failure_;
};

}  // namespace comfyq::testing::real
