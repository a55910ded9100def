// Real ComfyUI SIGKILLed while it runs a job and started again on the same port (empty queue,
// empty history): the job counts an attempt, runs again and succeeds, and the worker goes on
// running jobs.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "real_comfyui/in_process_fixture.hpp"
#include "real_comfyui/workflows.hpp"

namespace {

using comfyq::job_state;
namespace real = comfyq::testing::real;

}  // namespace

TEST_CASE("ComfyUI SIGKILLed mid-job and restarted on its port: the job runs again and succeeds, the worker goes on",
          "[real_comfyui][in_process]") {
  real::in_process_fixture f("restarted");
  const std::string id = f.submit(real::blocker_graph("survivor"));
  f.wait_until_comfyui_runs(id);

  const auto killed = std::chrono::steady_clock::now();
  f.comfyui.kill(SIGKILL);
  f.comfyui.restart();
  std::cout << "real_comfyui: ComfyUI answered again " << f.comfyui.last_start_time().count()
            << " ms after its restart began\n";

  // ComfyUI came back; the job may have waited out reconnect_wait and a backoff step first.
  const comfyq::job done = f.wait_until_finished(id, std::chrono::seconds(150));
  std::cout << "real_comfyui: the job ended "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count()
            << " ms after ComfyUI was killed\n";
  INFO("reason: " << done.reason << "; worker log " << (f.folder / "worker.log") << "; ComfyUI log "
                  << f.comfyui.log_file());
  REQUIRE(done.state == job_state::succeeded);
  CHECK(done.attempt == 2);   // dying mid-job counts an attempt (docs/worker.md)
  CHECK(done.failures == 1);
  // The second attempt's output, in its own folder; the killed attempt saved nothing.
  REQUIRE(done.outputs.size() == 1);
  CHECK(std::filesystem::exists(f.files.outputs_of(f.tenant, id, 2) / done.outputs.front().name));
  CHECK_FALSE(std::filesystem::exists(f.files.outputs_of(f.tenant, id, 1)));
  CHECK(f.comfyui.outputs_of(f.tenant, id) ==
        std::vector<std::filesystem::path>{std::filesystem::path("2") / "survivor_00001_.png"});

  // The worker survived it: it still runs and takes the next job.
  INFO("the worker stopped: " << f.worker_failure());
  REQUIRE(f.worker_running());
  const std::string next = f.submit(real::invert_graph("afterwards"));
  const comfyq::job after = f.wait_until_finished(next);
  INFO("next job: '" << after.reason << "'");
  CHECK(after.state == job_state::succeeded);
  CHECK(after.attempt == 1);
}
