// What went wrong lately, newest first: failed and dead jobs with their reasons and workers,
// runs that wait again, a worker's ComfyUI going down (once, not at each registration).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/server/recent_errors.hpp"
#include "comfyq/store/memory.hpp"

using namespace std::chrono_literals;

TEST_CASE("failed, dead and requeued jobs and a ComfyUI going down are recent errors, newest first",
          "[server][errors]") {
  comfyq::store::memory queue;
  const std::string bad = queue.submit({.tenant = "alice", .workflow = "{}"});
  const std::string lost = queue.submit({.tenant = "bob", .workflow = "{}"});
  const std::string fine = queue.submit({.tenant = "carol", .workflow = "{}"});
  const auto bad_run = queue.lease("gpu0");
  const auto lost_run = queue.lease("gpu1");
  const auto fine_run = queue.lease("gpu2");
  REQUIRE((bad_run->job_id == bad && lost_run->job_id == lost && fine_run->job_id == fine));
  queue.fail(bad, bad_run->token, "ComfyUI refused the workflow: no node class Foo", comfyq::failure::final);
  queue.fail(lost, lost_run->token, "ComfyUI stopped answering", comfyq::failure::retryable);
  queue.complete(fine, fine_run->token, {});
  comfyq::worker_info gpu1{.id = "gpu1", .comfyui = "127.0.0.1:8189", .condition = comfyq::worker_condition::comfyui_down};
  queue.register_worker(gpu1);
  queue.register_worker(gpu1);  // still down: not news
  gpu1.condition = comfyq::worker_condition::ready;
  queue.register_worker(gpu1);

  comfyq::server::recent_errors errors(2);
  errors.observe(queue.read_events("0", 1000, 0ms));
  // Only the newest two are kept.
  const std::vector<comfyq::server::recent_error> latest = errors.latest();
  REQUIRE(latest.size() == 2);
  CHECK(latest[0].kind == "comfyui_down");
  CHECK(latest[0].worker == "gpu1");
  CHECK(latest[0].reason == "its ComfyUI (127.0.0.1:8189) does not answer");
  CHECK(latest[1].kind == "job_requeued");
  CHECK(latest[1].job == lost);
  CHECK(latest[1].tenant == "bob");
  CHECK(latest[1].worker == "gpu1");
  CHECK(latest[1].reason == "ComfyUI stopped answering");

  comfyq::server::recent_errors all;
  all.observe(queue.read_events("0", 1000, 0ms));
  const std::vector<comfyq::server::recent_error> every = all.latest();
  REQUIRE(every.size() == 3);
  CHECK(every[2].kind == "job_failed");
  CHECK(every[2].job == bad);
  CHECK(every[2].tenant == "alice");
  CHECK(every[2].worker == "gpu0");
  CHECK(every[2].reason == "ComfyUI refused the workflow: no node class Foo");

  // A ComfyUI that goes down again after it came back is news again.
  const std::string seen = queue.last_event_id();
  gpu1.condition = comfyq::worker_condition::comfyui_down;
  queue.register_worker(gpu1);
  all.observe(queue.read_events(seen, 1000, 0ms));
  CHECK(all.latest().front().kind == "comfyui_down");
  CHECK(all.latest().size() == 4);
}
