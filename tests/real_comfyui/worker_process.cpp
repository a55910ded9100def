// comfyq-worker as the operator runs it, against a real redis-server and a real ComfyUI: a
// worker SIGKILLed while ComfyUI runs its job loses nothing. Its lease expires, and the second
// worker process its service manager starts (same id, same ComfyUI) stops what the dead one
// left running there and finishes the job.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "real_comfyui/comfyui_probe.hpp"
#include "real_comfyui/job_wait.hpp"
#include "real_comfyui/real_comfyui.hpp"
#include "real_comfyui/workflows.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

namespace {

using namespace std::chrono_literals;
using comfyq::job_state;
using comfyq::testing::child_process;
namespace real = comfyq::testing::real;

// A queue whose lease_ttl is short, so that a killed worker's job comes back within seconds.
struct process_fixture {
  process_fixture()
      : comfyui(real::shared_comfyui()),
        folder(prepare(comfyui)),
        queue(redis.connection_options(), {.queue = queue_name, .scheduler = config()}) {}

  static comfyq::scheduler_config config() {
    comfyq::scheduler_config c;
    c.lease_ttl = 3s;
    return c;
  }

  static std::filesystem::path prepare(const real::real_comfyui& comfyui) {
    const auto folder = std::filesystem::path(COMFYQ_REAL_COMFYUI_WORK_DIR) / "cases" / "worker-process";
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    real::settle(comfyui);
    return folder;
  }

  child_process start_worker(const std::string& id, const std::string& log) {
    return child_process(COMFYQ_WORKER_EXECUTABLE,
                         {"--id", id, "--comfyui", comfyui.address(), "--redis",
                          "redis://127.0.0.1:" + std::to_string(redis.port()), "--queue", queue_name, "--files",
                          (folder / "tenants").string(), "--heartbeat", "0.5", "--lease-ttl", "3", "--log-level", "debug"},
                         (folder / log).string());
  }

  comfyq::job wait_until_finished(const std::string& id, std::chrono::seconds timeout = 120s) {
    return comfyq::testing::real::wait_until_finished(
        queue, id, timeout, "worker logs in " + folder.string() + ", ComfyUI log " + comfyui.log_file().string());
  }

  real::real_comfyui& comfyui;
  std::filesystem::path folder;
  comfyq::testing::redis_server redis;
  std::string queue_name = comfyq::testing::unique_queue_name();
  comfyq::redis::store queue;
};

}  // namespace

TEST_CASE("comfyq-worker SIGKILLed while ComfyUI runs its job: a second worker process finishes the job",
          "[real_comfyui][worker_process]") {
  process_fixture f;
  const std::string tenant = "phoenix";
  const std::string id = f.queue.submit({.tenant = tenant, .workflow = real::blocker_graph("reborn").dump()});

  child_process first = f.start_worker("gpu0", "first.log");
  const auto [runs, seen] =
      real::wait_for_queue(f.comfyui, 2min, [&](const real::queue_state& q) { return q.runs(id); });
  INFO("ComfyUI's queue: " << seen.describe() << "; worker logs in " << f.folder);
  REQUIRE(runs);
  first.signal(SIGKILL);
  REQUIRE(first.wait_for_exit());

  const auto killed = std::chrono::steady_clock::now();
  child_process second = f.start_worker("gpu0", "second.log");
  const comfyq::job done = f.wait_until_finished(id);
  std::cout << "real_comfyui: the second worker process finished the job "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count()
            << " ms after the first was killed\n";

  INFO("reason: " << done.reason);
  REQUIRE(done.state == job_state::succeeded);
  CHECK(done.worker == "gpu0");
  CHECK(done.attempt == 2);
  const comfyq::comfyui::tenant_directory files(f.folder / "tenants");
  REQUIRE(done.outputs.size() == 1);
  CHECK(std::filesystem::exists(files.outputs_of(tenant, id, 2) / done.outputs.front().name));
  CHECK_FALSE(std::filesystem::exists(files.outputs_of(tenant, id, 1)));
  // The dead worker's prompt was stopped, not left to hold the GPU: the second worker found it
  // under its own client id and interrupted it before SaveImage ran.
  CHECK_THAT(comfyq::testing::read_file(f.folder / "second.log"), Catch::Contains("comfyui.leftover_stopped"));
  CHECK(f.comfyui.outputs_of(tenant, id) ==
        std::vector<std::filesystem::path>{std::filesystem::path("2") / "reborn_00001_.png"});
  CHECK(real::read_queue(f.comfyui).empty());

  second.signal(SIGTERM);
  const auto status = second.wait_for_exit(30s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}
