// Cancelling a job while real ComfyUI runs it: the job ends cancelled, ComfyUI stops the prompt
// and is left with nothing queued. How long the cancel took to reach the worker is printed (an
// operator's number; tests assert no timings).

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "real_comfyui/in_process_fixture.hpp"
#include "real_comfyui/workflows.hpp"

namespace {

using comfyq::job_state;
namespace real = comfyq::testing::real;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

}  // namespace

TEST_CASE("a job cancelled while ComfyUI runs it ends cancelled, and ComfyUI stops it and has nothing queued",
          "[real_comfyui][in_process]") {
  real::in_process_fixture f("cancelled");
  const std::string id = f.submit(real::blocker_graph("blurred"));
  f.wait_until_comfyui_runs(id);

  const auto asked = std::chrono::steady_clock::now();
  CHECK(f.queue.cancel(id) == job_state::running);  // a running job's worker is asked to stop it
  const comfyq::job done = f.wait_until_finished(id);
  const auto ended = std::chrono::steady_clock::now();
  const auto reached = f.log.first("job.interrupting", id);
  std::cout << "real_comfyui: cancel reached the worker after "
            << (reached ? std::to_string(duration_cast<milliseconds>(*reached - asked).count()) + " ms"
                        : std::string("(never: no job.interrupting)"))
            << ", the job ended " << comfyq::to_string(done.state) << " after "
            << duration_cast<milliseconds>(ended - asked).count() << " ms (heartbeat_interval "
            << duration_cast<milliseconds>(real::real_options().heartbeat_interval).count() << " ms)\n";

  INFO("reason: " << done.reason << "; worker log " << (f.folder / "worker.log"));
  CHECK(done.state == job_state::cancelled);
  CHECK(reached.has_value());
  // ComfyUI was told: it interrupted the prompt (between ImageBlur and SaveImage) instead of
  // running it to its end, and its queue is empty once the job is over.
  const nlohmann::json history = real::history_of(f.comfyui, id);
  INFO("ComfyUI's history of the prompt: " << history.dump());
  const std::vector<std::string> messages = real::status_messages(history);
  CHECK(std::find(messages.begin(), messages.end(), "execution_interrupted") != messages.end());
  CHECK(f.comfyui.outputs_of(f.tenant, id).empty());
  const auto [empty, queue] =
      real::wait_for_queue(f.comfyui, std::chrono::seconds(1), [](const real::queue_state& q) { return q.empty(); });
  INFO("ComfyUI's queue: " << queue.describe());
  CHECK(empty);
  CHECK_FALSE(std::filesystem::exists(f.files.root() / f.tenant / "outputs" / id));
}
