// comfyq-worker as the operator runs it: a process of its own against a real redis-server and a
// ComfyUI. A worker SIGKILLed mid-job loses nothing (its lease expires, another worker runs the
// job); SIGTERM drains; --help and bad settings answer clearly.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/redis/store.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"
#include "worker/worker_fixture.hpp"

namespace {

using namespace std::chrono_literals;
namespace clients = comfyq::testing::clients;
using comfyq::job_state;
using comfyq::testing::child_process;

// A queue with a short lease_ttl, so that a killed worker's job comes back within seconds.
struct process_fixture {
  process_fixture() : queue(redis.connection_options(), {.queue = queue_name, .scheduler = config()}) {}

  static comfyq::scheduler_config config() {
    comfyq::scheduler_config c;
    c.lease_ttl = 1500ms;
    return c;
  }

  std::string redis_url() const { return "redis://127.0.0.1:" + std::to_string(redis.port()); }

  child_process start_worker(const std::string& id, unsigned short comfyui_port, std::vector<std::string> more = {}) {
    std::vector<std::string> arguments{"--id", id, "--comfyui", "127.0.0.1:" + std::to_string(comfyui_port),
                                       "--redis", redis_url(), "--queue", queue_name, "--files",
                                       (scratch.path() / "tenants").string(), "--heartbeat", "0.2", "--lease-ttl", "1.5",
                                       "--log-level", "debug"};
    arguments.insert(arguments.end(), more.begin(), more.end());
    return child_process(COMFYQ_WORKER_EXECUTABLE, arguments, (scratch.path() / (id + ".log")).string());
  }

  /// Waits until `done` holds for job `id` (at most 30 s).
  template <class Done>
  comfyq::job wait_for(const std::string& id, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto j = queue.find(id); j && done(*j)) return *j;
      std::this_thread::sleep_for(20ms);
    }
    FAIL("job " << id << " did not get there within 30 s; worker logs in " << scratch.path());
    return {};
  }

  comfyq::testing::contract::scratch_folder scratch;
  comfyq::testing::redis_server redis;
  std::string queue_name = comfyq::testing::unique_queue_name();
  comfyq::redis::store queue;
};

comfyq::testing::comfyui_standin standin_at(const std::filesystem::path& folder, comfyq::testing::standin::behaviour knobs = {}) {
  return comfyq::testing::comfyui_standin({.output_dir = (folder / "output").string(), .knobs = std::move(knobs)});
}

}  // namespace

TEST_CASE("a worker SIGKILLed mid-job: its lease expires and another worker completes the job", "[worker][process]") {
  process_fixture f;
  auto slow = standin_at(f.scratch.path() / "comfyui-a", {.node_delays = {{"ImageInvert", 60'000ms}}});
  auto fast = standin_at(f.scratch.path() / "comfyui-b");
  const std::string id = f.queue.submit({.tenant = "alice", .workflow = clients::invert_graph("out").dump()});

  child_process first = f.start_worker("first", slow.port());
  f.wait_for(id, [](const comfyq::job& j) { return j.state == job_state::running; });
  first.signal(SIGKILL);
  REQUIRE(first.wait_for_exit());

  child_process second = f.start_worker("second", fast.port());
  const comfyq::job done = f.wait_for(id, [](const comfyq::job& j) { return comfyq::is_finished(j.state); });
  CHECK(done.state == job_state::succeeded);
  CHECK(done.worker == "second");
  CHECK(done.attempt == 2);
  const comfyq::comfyui::tenant_directory files(f.scratch.path() / "tenants");
  REQUIRE(done.outputs.size() == 1);
  CHECK(std::filesystem::exists(files.outputs_of("alice", id, 2) / done.outputs.front().name));
  CHECK_FALSE(std::filesystem::exists(files.outputs_of("alice", id, 1)));
}

TEST_CASE("SIGTERM: a worker gives back a job that does not finish within drain_grace and exits 0", "[worker][process]") {
  process_fixture f;
  auto slow = standin_at(f.scratch.path() / "comfyui", {.node_delays = {{"ImageInvert", 3'000ms}}});
  const std::string id = f.queue.submit({.tenant = "alice", .workflow = clients::invert_graph("out").dump()});

  child_process worker = f.start_worker("draining", slow.port(), {"--drain-grace", "0.3"});
  f.wait_for(id, [](const comfyq::job& j) { return j.state == job_state::running; });
  worker.signal(SIGTERM);
  const auto status = worker.wait_for_exit();
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  const auto job = f.queue.find(id);
  CHECK(job->state == job_state::queued);
  CHECK(job->failures == 0);
}

TEST_CASE("comfyq-worker explains its settings, and refuses bad ones naming the setting", "[worker][process]") {
  comfyq::testing::contract::scratch_folder scratch;
  SECTION("--help lists every setting and exits 0") {
    child_process help(COMFYQ_WORKER_EXECUTABLE, {"--help"});
    const std::string first = help.first_line();
    CHECK_THAT(first, Catch::Contains("comfyq-worker"));
    const auto status = help.wait_for_exit();
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
  }
  SECTION("an id that cannot be a worker id exits 2 and says why") {
    const auto log = scratch.path() / "bad.log";
    child_process bad(COMFYQ_WORKER_EXECUTABLE, {"--id", "no spaces", "--files", scratch.path().string(), "--redis",
                                                 "redis://127.0.0.1:1"},
                      log.string());
    const auto status = bad.wait_for_exit();
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 2);
    CHECK_THAT(comfyq::testing::read_file(log), Catch::Contains("worker.id"));
  }
}

TEST_CASE("comfyq-worker exits 2 when a required setting is missing, naming it", "[worker][process]") {
  comfyq::testing::contract::scratch_folder scratch;
  const auto log = scratch.path() / "missing.log";
  child_process missing(COMFYQ_WORKER_EXECUTABLE, {"--id", "gpu0", "--redis", "redis://127.0.0.1:1"}, log.string());
  const auto status = missing.wait_for_exit();
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 2);
  CHECK_THAT(comfyq::testing::read_file(log), Catch::Contains("--files"));
}

TEST_CASE("comfyq-worker takes its files from a folder or from the server, not both, with the server's token and certificate", "[worker][process]") {
  comfyq::testing::contract::scratch_folder scratch;
  const auto exits_2_saying = [&](std::vector<std::string> files, const std::string& said) {
    std::vector<std::string> arguments{"--id", "gpu0", "--redis", "redis://127.0.0.1:1"};
    arguments.insert(arguments.end(), files.begin(), files.end());
    const auto log = scratch.path() / "refused.log";
    child_process refused(COMFYQ_WORKER_EXECUTABLE, arguments, log.string());
    const auto status = refused.wait_for_exit();
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 2);
    const std::string text = comfyq::testing::read_file(log);
    CHECK_THAT(text, Catch::Contains(said));
    return text;
  };
  const std::string both = exits_2_saying(
      {"--files", scratch.path().string(), "--files-url", "http://127.0.0.1:1", "--files-token", "t"}, "--files-url");
  CHECK_THAT(both, Catch::Contains("not both"));
  exits_2_saying({"--files-url", "http://10.0.0.5:8080"}, "--files-token");

  const std::string missing = (scratch.path() / "missing.pem").string();
  const std::string ca = exits_2_saying({"--files-url", "https://10.0.0.5", "--files-token", "t", "--files-ca", missing},
                                        "--files-ca: [comfyq.invalid_input] files_ca:");
  CHECK_THAT(ca, Catch::Contains(missing));
  CHECK_THAT(exits_2_saying({"--files-url", "https://10.0.0.5", "--files-token-file", missing}, "--files-token-file"),
             Catch::Contains("cannot be read"));
  const std::string token_file = (scratch.path() / "worker-token").string();
  std::ofstream(token_file) << "t\n";
  CHECK_THAT(exits_2_saying({"--files-url", "https://10.0.0.5", "--files-token", "t", "--files-token-file", token_file},
                            "--files-token-file"),
             Catch::Contains("both"));
  std::ofstream(token_file) << "\n";
  CHECK_THAT(exits_2_saying({"--files-url", "https://10.0.0.5", "--files-token-file", token_file}, "--files-token-file"),
             Catch::Contains("is empty"));
}

TEST_CASE("comfyq-worker exits 2 when its heartbeat does not fit the queue's lease_ttl, naming the flag", "[worker][process]") {
  process_fixture f;  // the queue's lease_ttl is 1.5 s
  const auto log = f.scratch.path() / "slow-heartbeat.log";
  child_process slow(COMFYQ_WORKER_EXECUTABLE,
                     {"--id", "slow-heartbeat", "--comfyui", "127.0.0.1:1", "--redis", f.redis_url(), "--queue",
                      f.queue_name, "--files", (f.scratch.path() / "tenants").string(), "--heartbeat", "2"},
                     log.string());
  const auto status = slow.wait_for_exit();
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 2);
  CHECK_THAT(comfyq::testing::read_file(log),
             Catch::Contains("--heartbeat: [comfyq.invalid_input] worker.heartbeat_interval: must be below the "
                             "queue's lease_ttl (1500 ms)"));
  CHECK(f.queue.snapshot().workers.empty());
}

TEST_CASE("comfyq-worker exits 2 when --worker-ttl is too short for --lease-ttl, naming the flag", "[worker][process]") {
  comfyq::testing::contract::scratch_folder scratch;
  const auto log = scratch.path() / "ttls.log";
  child_process bad(COMFYQ_WORKER_EXECUTABLE, {"--id", "gpu0", "--files", scratch.path().string(), "--redis",
                                               "redis://127.0.0.1:1", "--lease-ttl", "300"},
                    log.string());
  const auto status = bad.wait_for_exit();
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 2);
  CHECK_THAT(comfyq::testing::read_file(log),
             Catch::Contains("--worker-ttl: [comfyq.invalid_input] worker_ttl: must be longer than a third of "
                             "lease_ttl (100000 ms)"));
}

TEST_CASE("comfyq-worker takes ComfyUI's address as the URL ComfyUI prints", "[worker][process]") {
  process_fixture f;
  auto comfyui = standin_at(f.scratch.path() / "comfyui");
  const std::string id = f.queue.submit({.tenant = "alice", .workflow = clients::invert_graph("out").dump()});
  std::vector<std::string> arguments{"--id", "by-url", "--comfyui", "http://127.0.0.1:" + std::to_string(comfyui.port()),
                                     "--redis", f.redis_url(), "--queue", f.queue_name, "--files",
                                     (f.scratch.path() / "tenants").string(), "--heartbeat", "0.2"};
  child_process worker(COMFYQ_WORKER_EXECUTABLE, arguments, (f.scratch.path() / "by-url.log").string());
  const comfyq::job done = f.wait_for(id, [](const comfyq::job& j) { return comfyq::is_finished(j.state); });
  CHECK(done.state == job_state::succeeded);
}

TEST_CASE("comfyq-worker says so when the queue's settings override its --lease-ttl and --max-attempts", "[worker][process]") {
  process_fixture f;  // the queue exists, with settings of its own
  auto comfyui = standin_at(f.scratch.path() / "comfyui");
  const std::string id = f.queue.submit({.tenant = "alice", .workflow = clients::invert_graph("out").dump()});
  child_process worker = f.start_worker("settings", comfyui.port(), {"--max-attempts", "7"});
  f.wait_for(id, [](const comfyq::job& j) { return comfyq::is_finished(j.state); });
  worker.signal(SIGTERM);
  REQUIRE(worker.wait_for_exit());
  const std::string log = comfyq::testing::read_file(f.scratch.path() / "settings.log");
  CHECK_THAT(log, Catch::Contains("worker.settings_ignored"));
}
