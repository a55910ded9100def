// The worker never loses work it finished and never runs a prompt twice behind the queue's
// back: a ComfyUI that breaks after the prompt ran, a submission whose answer was lost, a store
// that applied a call whose answer was lost, a slow collection, an attempt folder that exists.
// On both stores (memory, Redis).

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "support/delegating_store.hpp"
#include "worker/worker_fixture.hpp"

namespace {

using namespace comfyq::testing::worker_tests;
namespace clients = comfyq::testing::clients;
using comfyq::job_state;
using namespace std::chrono_literals;

// How many files ComfyUI saved for a job (every attempt's prompt writes under its own prefix).
std::size_t files_saved_in_comfyui(const std::string& output_dir, const std::string& tenant, const std::string& id) {
  const std::filesystem::path folder = std::filesystem::path(output_dir) / "comfyq" / tenant / id;
  if (!std::filesystem::exists(folder)) return 0;
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) count += entry.is_regular_file();
  return count;
}

// A store whose complete and complete_and_lease apply, then throw store_unavailable, once each:
// the connection broke after the store did the work, before its answer came back.
class fails_after_applying final : public comfyq::testing::delegating_store {
 public:
  using delegating_store::delegating_store;

  void complete(std::string_view id, std::uint64_t token, std::vector<comfyq::manifest_entry> outputs) override {
    delegating_store::complete(id, token, std::move(outputs));
    if (!failed_complete_.exchange(true)) throw comfyq::store_unavailable("the answer to complete was lost");
  }
  std::optional<comfyq::lease> complete_and_lease(std::string_view id, std::uint64_t token,
                                                  std::vector<comfyq::manifest_entry> outputs,
                                                  std::string_view worker) override {
    auto next = delegating_store::complete_and_lease(id, token, std::move(outputs), worker);
    if (!failed_complete_and_lease_.exchange(true)) throw comfyq::store_unavailable("the answer to complete_and_lease was lost");
    return next;
  }

 private:
  std::atomic<bool> failed_complete_{false};
  std::atomic<bool> failed_complete_and_lease_{false};
};

// An output store that takes its time writing, as one writing large videos to a slow disk does.
class slow_outputs final : public comfyq::comfyui::output_store {
 public:
  slow_outputs(comfyq::comfyui::output_store& inner, std::chrono::milliseconds each) : inner_(inner), each_(each) {}
  void begin_attempt(std::string_view tenant, std::string_view job, std::uint32_t attempt) override {
    inner_.begin_attempt(tenant, job, attempt);
  }
  std::filesystem::path staging_path(const comfyq::artifact_origin& where) override { return inner_.staging_path(where); }
  void keep_output(const comfyq::artifact_origin& where) override {
    std::this_thread::sleep_for(each_);
    inner_.keep_output(where);
  }
  void write_manifest(std::string_view tenant, std::string_view job, std::uint32_t attempt,
                      const std::vector<comfyq::manifest_entry>& entries) override {
    inner_.write_manifest(tenant, job, attempt, entries);
  }
  void discard(std::string_view tenant, std::string_view job, std::uint32_t attempt) override {
    inner_.discard(tenant, job, attempt);
  }

 private:
  comfyq::comfyui::output_store& inner_;
  std::chrono::milliseconds each_;
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("a ComfyUI that fails after the prompt ran costs the job an attempt, so it cannot rerun forever", "[worker][outcomes]", backends) {
  comfyq::scheduler_config config;
  config.max_attempts = 2;
  worker_fixture<TestType> f(config);
  f.standin.set_knobs({.history_fails = true});
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::dead);
  CHECK(done.failures == 2);
  CHECK_THAT(done.reason, Catch::Contains("the prompt ran"));
}

TEMPLATE_LIST_TEST_CASE("a submission whose answer was lost is found in ComfyUI and followed, not run again", "[worker][outcomes]", backends) {
  worker_fixture<TestType> f;
  f.standin.set_knobs({.node_delay = 20ms, .drop_prompt_answer = true});
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 1);
  CHECK(done.outputs.size() == 1);
  CHECK(f.log.saw("job.submission_adopted"));
  CHECK(files_saved_in_comfyui(f.standin.folders().output, "alice", id) == 1);
}

TEMPLATE_LIST_TEST_CASE("a completion the store applied before its answer was lost keeps the outputs and the next lease", "[worker][outcomes]", backends) {
  comfyq::scheduler_config config;
  config.lease_ttl = 120s;  // a lease left to expire would outlast the test
  worker_fixture<TestType> f(config);
  f.queue = std::make_unique<fails_after_applying>(std::move(f.queue));
  auto worker = f.make_worker();
  const std::string first = f.submit(clients::invert_graph("first"));
  const std::string second = f.submit(clients::invert_graph("second"));

  const comfyq::job done = f.run_until_finished(worker, second);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 1);
  CHECK(done.failures == 0);
  const auto kept = f.queue->find(first);
  REQUIRE(kept);
  CHECK(kept->state == job_state::succeeded);
  REQUIRE(kept->outputs.size() == 1);
  CHECK(std::filesystem::exists(f.attempt_folder("alice", first, 1) / kept->outputs.front().name));
  CHECK(std::filesystem::exists(f.attempt_folder("alice", first, 1) / "manifest.json"));
  CHECK(f.log.saw("job.outcome_already_recorded"));
}

TEMPLATE_LIST_TEST_CASE("the lease is kept alive while outputs are collected, however long that takes", "[worker][outcomes]", backends) {
  comfyq::scheduler_config config;
  config.lease_ttl = 600ms;
  worker_fixture<TestType> f(config);
  slow_outputs outputs(f.files, 1500ms);
  auto options = quick_options();
  options.heartbeat_interval = 100ms;
  comfyq::comfyui::worker worker(*f.queue, comfyq::comfyui::http_client(clients::options_for(f.standin.port())), f.files,
                                 outputs, options, f.log.sink());
  const std::string id = f.submit(clients::invert_graph("out"));

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 1);
  CHECK(std::filesystem::exists(f.attempt_folder("alice", id, 1) / "manifest.json"));
}

TEMPLATE_LIST_TEST_CASE("outputs never go into an attempt folder that already exists", "[worker][outcomes]", backends) {
  worker_fixture<TestType> f;
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));
  const std::filesystem::path theirs = f.attempt_folder("alice", id, 1);
  std::filesystem::create_directories(theirs);
  std::ofstream(theirs / "manifest.json") << "another run's manifest\n";

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 2);
  CHECK(read_file(theirs / "manifest.json") == "another run's manifest\n");
  CHECK(std::filesystem::exists(f.attempt_folder("alice", id, 2) / "manifest.json"));
}

TEMPLATE_LIST_TEST_CASE("a cancel reaches the running job at once, not at its next heartbeat", "[worker][outcomes]", backends) {
  comfyq::scheduler_config config;
  config.lease_ttl = 600s;
  config.worker_ttl = 600s;
  worker_fixture<TestType> f(config);
  f.standin.set_knobs({.node_delays = {{"ImageInvert", 2s}}});  // the interrupt stops the prompt after it
  auto options = quick_options();
  options.heartbeat_interval = 120s;  // a cancel heard only at a heartbeat would outlast the test
  auto worker = f.make_worker(options);
  const std::string id = f.submit(clients::invert_graph("out"));
  f.when_running_node(id, "2", [&] { CHECK(f.queue->cancel(id) == job_state::running); });

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::cancelled);
  CHECK(done.outputs.empty());
}

TEMPLATE_LIST_TEST_CASE("a cancel that reaches a job as its prompt finishes keeps the finished work", "[worker][outcomes]", backends) {
  worker_fixture<TestType> f;
  // The cancel comes while the last node runs: ComfyUI's interrupt takes effect between nodes,
  // so the prompt finishes anyway. The job ends succeeded, as the store's rule says (completion
  // wins over a pending cancel), with its outputs kept.
  f.standin.set_knobs({.node_delays = {{"SaveImage", 800ms}}});
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));
  f.when_running_node(id, "3", [&] { CHECK(f.queue->cancel(id) == job_state::running); });

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  REQUIRE(done.outputs.size() == 1);
  CHECK(std::filesystem::exists(f.attempt_folder("alice", id, 1) / done.outputs.front().name));
  CHECK(f.log.saw("job.finished_before_stop"));
}

TEMPLATE_LIST_TEST_CASE("a worker restarted under the same id takes back its previous life's lease at once", "[worker][outcomes]", backends) {
  comfyq::scheduler_config config;
  config.lease_ttl = 600s;  // waiting for the old lease to expire would outlast the test
  config.worker_ttl = 600s;
  worker_fixture<TestType> f(config);
  const std::string id = f.submit(clients::invert_graph("out"));
  REQUIRE(f.queue->lease("gpu0"));  // the worker's previous life, killed while running it

  auto worker = f.make_worker(quick_options("gpu0"));
  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::succeeded);
  CHECK(done.attempt == 2);
  CHECK(done.failures == 1);
  CHECK(f.log.saw("job.reclaimed"));
}

TEMPLATE_LIST_TEST_CASE("a lease that reaches a worker asked to stop is given back, not run", "[worker][outcomes]", backends) {
  worker_fixture<TestType> f;
  auto worker = f.make_worker();
  REQUIRE(worker.step() == 0);  // ComfyUI is up, nothing to do
  const std::string id = f.submit(clients::invert_graph("out"));
  worker.request_stop();

  CHECK(worker.step() == 0);
  const auto job = f.queue->find(id);
  REQUIRE(job);
  CHECK(job->state == job_state::queued);
  CHECK(job->failures == 0);
  CHECK(files_saved_in_comfyui(f.standin.folders().output, "alice", id) == 0);
}

TEMPLATE_LIST_TEST_CASE("a worker whose run() returned is no longer listed", "[worker][outcomes]", backends) {
  worker_fixture<TestType> f;
  auto worker = f.make_worker();
  std::thread running([&] { worker.run(); });
  const std::string id = f.submit(clients::invert_graph("out"));
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline && f.queue->find(id)->state != job_state::succeeded) {
    std::this_thread::sleep_for(20ms);
  }
  const std::size_t listed_while_running = f.queue->snapshot().workers.size();
  worker.request_stop();
  running.join();

  CHECK(listed_while_running == 1);
  CHECK(f.queue->snapshot().workers.empty());
  bool removed = false;
  for (const auto& e : f.queue->read_events("0", 10'000, comfyq::duration::zero())) {
    removed = removed || (e.value.type == comfyq::event_type::worker_removed && e.value.worker == "gpu0");
  }
  CHECK(removed);
}
