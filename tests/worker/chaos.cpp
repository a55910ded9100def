// Chaos: three comfyq-worker processes, each with a comfyui-standin process of its own, run the
// jobs of 10 tenants from a real Redis while workers and stand-ins are SIGKILLed at random and
// started again. Every job must end succeeded exactly once (or dead, with a reason), every
// output must be in its own job's folder and nowhere else, and nothing may be lost. The workers
// write into the tenants' folder, or, as workers on other machines do, send their outputs to a
// comfyq-server that keeps it: a worker killed mid-send must leave no file half-written there.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comfyq/attribution.hpp"
#include "comfyq/redis/store.hpp"
#include "comfyq/server/server.hpp"
#include "comfyq/util/sha256.hpp"
#include "comfyui_contract/standin_process.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"
#include "worker/worker_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using comfyq::job_state;
using comfyq::testing::child_process;
using comfyq::testing::contract::standin_process;

constexpr int gpus = 3;
constexpr int tenants = 10;

// Where the workers keep the tenants' files, and how much chaos they meet.
struct chaos_run {
  bool remote = false;  ///< sent to a comfyq-server (--files-url), not written to the folder (--files)
  int jobs = 200;
  int kills = 16;
};

// One GPU slot: a stand-in on a fixed port and the worker that drives it, each restartable.
struct gpu_slot {
  std::string name;
  std::filesystem::path comfyui_folder;
  unsigned short port = 0;
  std::unique_ptr<standin_process> comfyui;
  std::unique_ptr<child_process> worker;
};

// Every file below `root`, relative to it.
std::vector<std::filesystem::path> files_below(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> found;
  if (!std::filesystem::exists(root)) return found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) found.push_back(std::filesystem::relative(entry.path(), root));
  }
  return found;
}

void run_chaos(const chaos_run& run) {
  const int jobs = run.jobs;
  const int kills = run.kills;
  comfyq::testing::contract::scratch_folder scratch;
  comfyq::testing::redis_server redis;
  const std::string queue_name = comfyq::testing::unique_queue_name();
  comfyq::scheduler_config config;
  config.lease_ttl = 1s;
  config.max_attempts = 5;
  comfyq::redis::store queue(redis.connection_options(), {.queue = queue_name, .scheduler = config});
  const auto tenants_folder = scratch.path() / "tenants";
  // The server a remote worker sends its files to, over the same queue. Its workers read the
  // token from a file, line break and all, as a copy of the server's <data>/worker-token holds it.
  const std::string worker_token = "chaos-worker-token";
  const std::filesystem::path worker_token_file = scratch.path() / "worker-token";
  std::ofstream(worker_token_file) << worker_token << '\n';
  comfyq::redis::store server_queue(redis.connection_options(), {.queue = queue_name, .scheduler = config});
  comfyq::server::server web(server_queue, {.port = 0, .files = tenants_folder, .worker_token = worker_token});
  if (run.remote) web.start();

  std::vector<gpu_slot> slots(gpus);
  const auto start_comfyui = [&](gpu_slot& slot) {
    slot.comfyui = std::make_unique<standin_process>(
        std::vector<std::string>{"--port", std::to_string(slot.port), "--output-dir",
                                 (slot.comfyui_folder / "output").string(), "--delay-ms", "60"},
        (scratch.path() / (slot.name + "-comfyui.log")).string());
    slot.port = slot.comfyui->port();
  };
  const auto start_worker = [&](gpu_slot& slot) {
    std::vector<std::string> arguments{"--id", slot.name, "--comfyui", "127.0.0.1:" + std::to_string(slot.port), "--redis",
                                       "redis://127.0.0.1:" + std::to_string(redis.port()), "--queue", queue_name,
                                       "--heartbeat", "0.2", "--lease-ttl", "1", "--max-attempts", "5"};
    const std::vector<std::string> files =
        run.remote ? std::vector<std::string>{"--files-url", "http://127.0.0.1:" + std::to_string(web.port()),
                                              "--files-token-file", worker_token_file.string(), "--files-scratch",
                                              (scratch.path() / (slot.name + "-scratch")).string()}
                   : std::vector<std::string>{"--files", tenants_folder.string()};
    arguments.insert(arguments.end(), files.begin(), files.end());
    slot.worker = std::make_unique<child_process>(COMFYQ_WORKER_EXECUTABLE, arguments,
                                                  (scratch.path() / (slot.name + ".log")).string());
  };
  for (int i = 0; i < gpus; ++i) {
    slots[i].name = "gpu" + std::to_string(i);
    slots[i].comfyui_folder = scratch.path() / ("comfyui-" + std::to_string(i));
    start_comfyui(slots[i]);
    start_worker(slots[i]);
  }

  std::map<std::string, std::string> tenant_of;
  for (int n = 0; n < jobs; ++n) {
    const std::string tenant = "tenant" + std::to_string(n % tenants);
    const std::string id = queue.submit(
        {.tenant = tenant, .workflow = comfyq::testing::clients::invert_graph("shot" + std::to_string(n)).dump()});
    tenant_of[id] = tenant;
  }

  // Kill a random worker or stand-in every 150-400 ms, and start it again 100 ms later.
  std::mt19937 random(20261124);
  int killed_workers = 0, killed_comfyuis = 0;
  const auto unfinished = [&] {
    std::size_t open = 0;
    for (const auto& [id, tenant] : tenant_of) open += comfyq::is_finished(queue.find(id)->state) ? 0 : 1;
    return open;
  };
  const auto deadline = std::chrono::steady_clock::now() + 150s;
  for (int k = 0; k < kills && unfinished() > 0; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 400)(random)));
    gpu_slot& victim = slots[std::uniform_int_distribution<int>(0, gpus - 1)(random)];
    if (std::uniform_int_distribution<int>(0, 1)(random) == 0) {
      victim.worker->signal(SIGKILL);
      REQUIRE(victim.worker->wait_for_exit());
      std::this_thread::sleep_for(100ms);
      start_worker(victim);
      ++killed_workers;
    } else {
      victim.comfyui->signal(SIGKILL);
      REQUIRE(victim.comfyui->wait_for_exit());
      std::this_thread::sleep_for(100ms);
      start_comfyui(victim);
      ++killed_comfyuis;
    }
  }
  while (unfinished() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  INFO("logs in " << scratch.path());
  REQUIRE(unfinished() == 0);

  // Every job ended once: succeeded exactly once, or dead with a reason.
  std::map<std::string, int> successes;
  for (const auto& e : queue.read_events("0", 100'000, comfyq::duration::zero())) {
    if (e.value.type == comfyq::event_type::succeeded) ++successes[e.value.job];
  }
  int succeeded = 0, dead = 0, retried = 0;
  for (const auto& [id, tenant] : tenant_of) {
    const comfyq::job j = *queue.find(id);
    INFO("job " << id << ": " << comfyq::to_string(j.state) << " " << j.reason);
    REQUIRE((j.state == job_state::succeeded || j.state == job_state::dead));
    retried += j.attempt > 1 ? 1 : 0;
    if (j.state == job_state::dead) {
      ++dead;
      CHECK_FALSE(j.reason.empty());
      CHECK(successes[id] == 0);
      continue;
    }
    ++succeeded;
    CHECK(successes[id] == 1);
    // Its outputs are in its final attempt's folder, as its manifest says, and the manifest beside them.
    const comfyq::comfyui::tenant_directory files(tenants_folder);
    REQUIRE(j.outputs.size() == 1);
    for (const auto& entry : j.outputs) {
      CHECK(comfyq::util::sha256_hex(comfyq::testing::read_file(files.outputs_of(tenant, id, j.attempt) /
                                                                                entry.name)) == entry.sha256);
    }
    CHECK(std::filesystem::exists(files.outputs_of(tenant, id, j.attempt) / "manifest.json"));
  }

  // Nothing in the tenants' folders or ComfyUI's output folders is outside its own job's folder;
  // sent to the server, no file is left there half-written.
  for (const auto& file : files_below(tenants_folder)) {
    const auto parts = std::vector<std::filesystem::path>(file.begin(), file.end());
    if (run.remote) CHECK(file.extension() != ".part");
    REQUIRE(parts.size() >= 5);  // <tenant>/outputs/<job>/<attempt>/<name>
    CHECK(parts[1] == "outputs");
    CHECK(tenant_of.at(parts[2].string()) == parts[0].string());
  }
  for (const auto& slot : slots) {
    for (const auto& file : files_below(slot.comfyui_folder / "output")) {
      const comfyq::artifact saved{.filename = file.filename().string(), .subfolder = file.parent_path().string(),
                                   .type = "output", .node = "3"};
      const comfyq::artifact_origin origin = comfyq::attribute(saved);
      CHECK(tenant_of.at(origin.job) == origin.tenant);
    }
  }

  std::cout << "chaos" << (run.remote ? " (outputs sent to comfyq-server)" : "") << ": " << jobs << " jobs of "
            << tenants << " tenants on " << gpus << " workers; SIGKILLed "
            << killed_workers << " workers and " << killed_comfyuis << " stand-ins; " << succeeded
            << " succeeded exactly once, " << dead << " dead, " << retried << " needed more than one attempt\n";
}

}  // namespace

TEST_CASE("chaos: workers and ComfyUIs SIGKILLed at random lose no job and mix no outputs", "[worker][process][chaos]") {
  run_chaos({});
}

TEST_CASE("chaos: remote workers SIGKILLed while sending outputs to the server lose no job and leave no file half-written", "[worker][process][chaos]") {
  run_chaos({.remote = true, .jobs = 100, .kills = 12});
}
