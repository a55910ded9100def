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

TEST_CASE("a worker no longer heard from is gone once, at the time it went, until it is heard from again",
          "[server][errors]") {
  comfyq::time_point now{comfyq::duration(1'000'000)};
  comfyq::store::memory queue({.clock = [&now] { return now; }});
  const comfyq::duration ttl = queue.ttls().worker_ttl;
  queue.register_worker({.id = "gpu0"});
  const comfyq::time_point heard = now;
  comfyq::server::recent_errors errors;
  errors.observe_workers(queue.snapshot(), ttl);
  CHECK(errors.latest().empty());

  now += ttl + std::chrono::seconds(5);
  errors.observe_workers(queue.snapshot(), ttl);
  errors.observe_workers(queue.snapshot(), ttl);  // still gone: said once
  REQUIRE(errors.latest().size() == 1);
  const comfyq::server::recent_error gone = errors.latest().front();
  CHECK(gone.kind == "worker_gone");
  CHECK(gone.worker == "gpu0");
  CHECK(gone.at == heard + ttl);
  CHECK(gone.reason == "not heard from for " + std::to_string(ttl.count() / 1000) +
                           " s: its process stopped, or its machine is unreachable");

  // Back, then gone again: news again, and newest first.
  queue.register_worker({.id = "gpu0"});
  errors.observe_workers(queue.snapshot(), ttl);
  now += ttl;
  errors.observe_workers(queue.snapshot(), ttl);
  REQUIRE(errors.latest().size() == 2);
  CHECK(errors.latest()[0].at == now);
  CHECK(errors.latest()[1].at == heard + ttl);
}
