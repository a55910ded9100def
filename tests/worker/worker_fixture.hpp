#pragma once
// What the worker tests share: a ComfyUI stand-in in this process, a queue on a store backend
// (memory, or a queue of its own on the test Redis), the tenants' folder, a worker with waits
// short enough for tests, and its log.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/comfyui/worker.hpp"
#include "comfyq/store/contract.hpp"
#include "comfyui/standin_clients.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "support/read_file.hpp"
#include "support/stores.hpp"

namespace comfyq::testing::worker_tests {

using testing::read_file;  // the worker's cases read outputs by the fixture's namespace

/// The worker's tests run on every store: the memory store and a queue on the test Redis.
#ifdef COMFYQ_TEST_REDIS_STORE
using backends = std::tuple<memory_backend, redis_backend>;
#else
using backends = std::tuple<memory_backend>;
#endif

inline time_point system_time() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

/// Waits short enough that every test runs in seconds.
inline comfyui::worker_options quick_options(std::string id = "gpu0") {
  comfyui::worker_options options;
  options.id = std::move(id);
  options.heartbeat_interval = std::chrono::milliseconds(50);
  options.idle_wait = std::chrono::milliseconds(100);
  options.interrupt_wait = std::chrono::seconds(10);
  options.reconnect_wait = std::chrono::seconds(5);
  options.store_retry = std::chrono::seconds(5);
  options.backoff = {.initial = std::chrono::milliseconds(20), .max = std::chrono::milliseconds(200), .factor = 2.0};
  return options;
}

/// Collects a worker's log records from any thread.
class log_collector {
 public:
  comfyui::log_sink sink() {
    return [this](const comfyui::log_record& record) {
      const std::lock_guard lock(mutex_);
      records_.push_back(record);
    };
  }
  bool saw(std::string_view event) const {
    const std::lock_guard lock(mutex_);
    for (const auto& r : records_) {
      if (r.event == event) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<comfyui::log_record> records_;
};

template <class Backend>
struct worker_fixture {
  explicit worker_fixture(scheduler_config config = {}, store::clock clock = system_time, standin::behaviour knobs = {})
      : standin(standin_config{.output_dir = (scratch.path() / "comfyui" / "output").string(),
                               .knobs = std::move(knobs),
                               .on_crash = [this] { on_crash(); }}),
        queue(Backend::make(std::move(config), std::move(clock))),
        files(scratch.path() / "tenants") {}

  ~worker_fixture() {
    stop_restarting = true;
    if (restarter.joinable()) restarter.join();
    if (watcher.joinable()) watcher.join();
  }

  comfyui::worker make_worker(comfyui::worker_options options = quick_options()) {
    return comfyui::worker(*queue, comfyui::http_client(clients::options_for(standin.port())), files, files,
                           std::move(options), log.sink());
  }

  std::string submit(const nlohmann::json& graph, std::string tenant = "alice") {
    return queue->submit({.tenant = std::move(tenant), .workflow = graph.dump()});
  }

  /// Steps `worker` until job `id` is finished (at most 30 s; the test fails otherwise).
  job run_until_finished(comfyui::worker& worker, const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      worker.step();
      if (auto j = queue->find(id); j && is_finished(j->state)) return *j;
    }
    FAIL("job " << id << " did not finish within 30 s");
    return {};
  }

  /// Runs `action` on a thread of its own once job `id` runs node `node` in ComfyUI.
  void when_running_node(const std::string& id, const std::string& node, std::function<void()> action) {
    watcher = std::thread([this, id, node, action = std::move(action)] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& e : queue->read_events("0", 10'000, duration::zero())) {
          if (e.value.job == id && e.value.type == event_type::progress && e.value.data.value("node", "") == node) {
            action();
            return;
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }

  /// The stand-in comes back (empty) `after` each crash, with crash_at_node armed again `rearm`
  /// more times.
  void restart_after_crashes(std::string crash_node, int rearm, std::chrono::milliseconds after = std::chrono::milliseconds(200)) {
    crash_node_ = std::move(crash_node);
    rearm_ = rearm;
    restarter = std::thread([this, after] {
      while (!stop_restarting) {
        if (crashed.exchange(false)) {
          std::this_thread::sleep_for(after);
          standin.restart();
          if (rearm_-- > 0) {
            auto knobs = standin.knobs();
            knobs.crash_at_node = crash_node_;
            standin.set_knobs(knobs);
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }

  std::filesystem::path attempt_folder(const std::string& tenant, const std::string& id, std::uint32_t attempt) const {
    return files.outputs_of(tenant, id, attempt);
  }

  contract::scratch_folder scratch;
  log_collector log;
  std::atomic<bool> crashed{false};
  std::atomic<bool> stop_restarting{false};
  comfyui_standin standin;
  std::unique_ptr<store::contract> queue;
  comfyui::tenant_directory files;
  std::thread watcher;
  std::thread restarter;

 private:
  void on_crash() {
    standin.crash();
    crashed = true;
  }

  std::string crash_node_;
  int rearm_ = 0;
};

}  // namespace comfyq::testing::worker_tests
