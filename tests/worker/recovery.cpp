// The worker survives what goes wrong around a job: a dropped WebSocket, a ComfyUI that crashes
// and restarts empty, one that is down when the worker starts, a job that kills ComfyUI on
// every attempt, a lease that expired, and a stop request mid-job. On both stores (memory, Redis).

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include "support/shared_clock.hpp"
#include "worker/worker_fixture.hpp"

namespace {

using namespace comfyq::testing::worker_tests;
namespace clients = comfyq::testing::clients;
using comfyq::job_state;
using namespace std::chrono_literals;

}  // namespace

TEMPLATE_LIST_TEST_CASE("a WebSocket that drops mid-job is reconnected and the job ends as ComfyUI ran it", "[worker][recovery]", backends) {
  worker_fixture<TestType> f;
  f.standin.set_knobs({.node_delay = 50ms, .drop_socket_at_node = "2"});
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));
  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 1);
  CHECK(done.outputs.size() == 1);
  CHECK(f.log.saw("comfyui.socket_lost"));
}

TEMPLATE_LIST_TEST_CASE("a ComfyUI that crashes mid-job and restarts empty: the job is retried and succeeds", "[worker][recovery]", backends) {
  worker_fixture<TestType> f;
  f.standin.set_knobs({.node_delay = 20ms, .crash_at_node = "2"});
  f.restart_after_crashes("2", 0);
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 2);
  CHECK(done.failures == 1);
  CHECK_FALSE(f.log.saw("job.poison_suspected"));  // one failure is no sign of a poison job
  // Only the attempt that succeeded has a folder in the tenant's outputs.
  CHECK(std::filesystem::exists(f.attempt_folder("alice", id, 2) / done.outputs.at(0).name));
  CHECK_FALSE(std::filesystem::exists(f.attempt_folder("alice", id, 1)));
}

TEMPLATE_LIST_TEST_CASE("a job that kills ComfyUI on every attempt ends dead as a poison job", "[worker][recovery]", backends) {
  comfyq::scheduler_config config;
  config.max_attempts = 2;
  worker_fixture<TestType> f(config);
  f.standin.set_knobs({.node_delay = 20ms, .crash_at_node = "2"});
  f.restart_after_crashes("2", 1);
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::dead);
  CHECK(done.failures == 2);
  CHECK_THAT(done.reason, Catch::Contains("ComfyUI died"));
  CHECK(f.log.saw("job.poison_suspected"));

  SECTION("and the worker goes on with the next job once ComfyUI is back") {
    const std::string next = f.submit(clients::invert_graph("after"));
    CHECK(f.run_until_finished(worker, next).state == job_state::succeeded);
  }
}

TEMPLATE_LIST_TEST_CASE("a worker whose ComfyUI is down reports it, backs off, and starts once it answers", "[worker][recovery]", backends) {
  worker_fixture<TestType> f;
  f.standin.crash();
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));

  CHECK(worker.step() == 0);
  CHECK(worker.step() == 0);
  const auto snapshot = f.queue->snapshot();
  REQUIRE(snapshot.workers.size() == 1);
  CHECK(snapshot.workers.front().state == comfyq::worker_state::comfyui_down);
  CHECK(f.queue->find(id)->state == job_state::queued);
  CHECK(f.log.saw("comfyui.down"));

  f.standin.restart();
  CHECK(f.run_until_finished(worker, id).state == job_state::succeeded);
  CHECK(f.queue->snapshot().workers.front().state == comfyq::worker_state::idle);
}

TEMPLATE_LIST_TEST_CASE("an idle worker notices that its ComfyUI went down and says so before any job comes", "[worker][recovery]", backends) {
  worker_fixture<TestType> f;
  auto options = quick_options();
  options.idle_check = 50ms;
  auto worker = f.make_worker(options);
  CHECK(worker.step() == 0);  // brought up, no work
  CHECK(f.queue->snapshot().workers.front().state == comfyq::worker_state::idle);

  f.standin.crash();
  for (int i = 0; i < 5; ++i) worker.step();
  CHECK(f.queue->snapshot().workers.front().state == comfyq::worker_state::comfyui_down);
  CHECK(f.log.saw("comfyui.down"));

  f.standin.restart();
  for (int i = 0; i < 50 && f.queue->snapshot().workers.front().state != comfyq::worker_state::idle; ++i) worker.step();
  CHECK(f.queue->snapshot().workers.front().state == comfyq::worker_state::idle);
}

TEMPLATE_LIST_TEST_CASE("a worker whose lease expired stops the prompt and keeps nothing of it", "[worker][recovery]", backends) {
  comfyq::testing::shared_clock test_clock(system_time());
  worker_fixture<TestType> f({}, test_clock.reader());
  f.standin.set_knobs({.node_delays = {{"ImageInvert", 800ms}}});
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));
  // The worker looks dead to the queue: its lease runs out and the job waits again.
  f.when_running_node(id, "2", [&] {
    test_clock.advance(comfyq::scheduler_config{}.lease_ttl + 1s);
    f.queue->expire();
  });

  CHECK(worker.step() == 1);
  const auto requeued = f.queue->find(id);
  REQUIRE(requeued);
  CHECK(requeued->state == job_state::queued);
  CHECK(requeued->failures == 1);
  CHECK_FALSE(std::filesystem::exists(f.attempt_folder("alice", id, 1)));

  f.standin.set_knobs({});
  const comfyq::job done = f.run_until_finished(worker, id);
  INFO(done.reason);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 2);
  CHECK_FALSE(std::filesystem::exists(f.attempt_folder("alice", id, 1)));
}

TEMPLATE_LIST_TEST_CASE("a stop request lets the running job finish within drain_grace, else gives it back", "[worker][drain]", backends) {
  worker_fixture<TestType> f;
  auto options = quick_options();

  SECTION("a job that finishes in time succeeds, and the next one is not started") {
    f.standin.set_knobs({.node_delays = {{"ImageInvert", 300ms}}});
    options.drain_grace = 10s;
    auto worker = f.make_worker(options);
    const std::string first = f.submit(clients::invert_graph("first"));
    const std::string second = f.submit(clients::invert_graph("second"));
    f.when_running_node(first, "2", [&] { worker.request_stop(); });
    CHECK(worker.step() == 1);
    CHECK(f.queue->find(first)->state == job_state::succeeded);
    CHECK(f.queue->find(second)->state == job_state::queued);
    CHECK(f.queue->snapshot().workers.front().state == comfyq::worker_state::draining);
  }
  SECTION("a job that does not is interrupted and requeued without counting an attempt") {
    f.standin.set_knobs({.node_delays = {{"ImageInvert", 1500ms}}});
    options.drain_grace = 200ms;
    auto worker = f.make_worker(options);
    const std::string id = f.submit(clients::invert_graph("slow"));
    f.when_running_node(id, "2", [&] { worker.request_stop(); });
    CHECK(worker.step() == 1);
    const auto job = f.queue->find(id);
    CHECK(job->state == job_state::queued);
    CHECK(job->failures == 0);
    CHECK_FALSE(std::filesystem::exists(f.attempt_folder("alice", id, 1)));
  }
}
