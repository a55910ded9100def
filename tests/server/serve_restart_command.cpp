// comfyq-server's embedded store survives the server: killed with SIGKILL while participants
// submit, and started again on the same data folder, it has every job it acknowledged with a
// 201, finished jobs as they finished, and the tenants' settings. The redis-server it started
// goes with it.

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/redis/private_server.hpp"
#include "comfyq/redis/store.hpp"
#include "server/serving.hpp"
#include "support/child_process.hpp"
#include "support/http_call.hpp"
#include "support/program_run.hpp"
#include "support/scratch_folder.hpp"

namespace http = boost::beast::http;
using comfyq::testing::child_process;
using comfyq::testing::contents;
using comfyq::testing::http_call;
using comfyq::testing::listening_port;
using comfyq::testing::login_of;
using comfyq::testing::submit_txt2img;
using comfyq::testing::wait_for_job;

namespace {

// The server's queue, reached as another process beside it would: through its embedded store's
// socket (the server has no API for tenant settings).
comfyq::redis::store queue_of(const std::filesystem::path& data) {
  return comfyq::redis::store({.socket = (data / "redis" / "redis.sock").string()}, {.keep_existing_settings = true});
}

// The process id in the pid file the embedded store's redis-server writes while it runs.
int redis_pid(const std::filesystem::path& data) {
  const std::string text = contents(data / "redis" / "redis.pid");
  REQUIRE_FALSE(text.empty());
  return std::stoi(text);
}

// Whether process `pid` has ended (a zombie nobody reaped has ended too).
bool ended(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const std::size_t after_name = line.rfind(") ");
  return after_name != std::string::npos && line.size() > after_name + 2 && line[after_name + 2] == 'Z';
}

bool ends_within(int pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ended(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

struct acknowledged_job {
  std::string id;
  std::string owner;  // the Authorization header it was submitted with
};

// Participants who submit as fast as the server lets them, each keeping the ids it got a 201 for,
// until told to stop (the server's death ends their requests with errors, which they ignore).
class participants {
 public:
  participants(std::uint16_t port, const std::vector<std::string>& logins) {
    for (const std::string& login : logins) {
      threads_.emplace_back([this, port, login] {
        while (!stop_) {
          try {
            const auto answer = submit_txt2img(port, login);
            if (answer.status == 201) {
              const std::lock_guard lock(mutex_);
              acknowledged_.push_back({answer.json().at("id"), login});
            }
          } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }
      });
    }
  }
  participants(const participants&) = delete;
  participants& operator=(const participants&) = delete;
  ~participants() { stop(); }

  std::size_t count() {
    const std::lock_guard lock(mutex_);
    return acknowledged_.size();
  }

  std::vector<acknowledged_job> stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    return acknowledged_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<acknowledged_job> acknowledged_;
  std::vector<std::thread> threads_;
};

}  // namespace

TEST_CASE("comfyq-server killed with SIGKILL under load comes back with every acknowledged job", "[server][restart]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path data = scratch.path() / "data";
  const std::filesystem::path first_log = scratch.path() / "server.log";
  INFO(contents(first_log));

  child_process server(COMFYQ_SERVER_EXECUTABLE, {"--demo", "--listen", "127.0.0.1:0", "--data", data.string()},
                       first_log.string());
  const std::uint16_t port = listening_port(server);
  const std::string user01 = login_of(data, "user01");

  // One job finishes on the demo backend, and one is cancelled while it waits behind it.
  const std::string succeeded = submit_txt2img(port, user01).json().at("id");
  const auto waiting = submit_txt2img(port, user01);
  REQUIRE(waiting.status == 201);
  const std::string cancelled = waiting.json().at("id");
  REQUIRE(http_call(port, http::verb::post, "/api/v1/jobs/" + cancelled + "/cancel", {{"Authorization", user01}})
              .status == 200);
  const nlohmann::json finished = wait_for_job(port, succeeded, user01, [](const nlohmann::json& job) {
    return job.at("state") == "succeeded" || job.at("state") == "failed";
  });
  REQUIRE(finished.at("state") == "succeeded");

  queue_of(data).set_tenant({.id = "user05", .weight = 3.0, .max_queued = 7});

  const int first_redis = redis_pid(data);
  std::vector<acknowledged_job> acknowledged;
  {
    participants load(port, {user01, login_of(data, "user02"), login_of(data, "user03"), login_of(data, "user04")});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (load.count() < 40 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    server.signal(SIGKILL);  // mid-load: requests are in flight
    REQUIRE(server.wait_for_exit());
    acknowledged = load.stop();
  }
  REQUIRE(acknowledged.size() >= 40);
  // Its redis-server got SIGTERM when the server died, and is gone.
  CHECK(ends_within(first_redis, std::chrono::seconds(30)));

  // Nothing runs now: the states stay where the restart finds them.
  const std::filesystem::path second_log = scratch.path() / "server-again.log";
  INFO(contents(second_log));
  child_process again(COMFYQ_SERVER_EXECUTABLE,
                      {"--listen", "127.0.0.1:0", "--data", data.string(), "--comfyui", "127.0.0.1:9"},
                      second_log.string());
  const std::uint16_t port_again = listening_port(again);
  std::size_t found = 0;
  for (const acknowledged_job& job : acknowledged) {
    const auto answer = http_call(port_again, http::verb::get, "/api/v1/jobs/" + job.id, {{"Authorization", job.owner}});
    INFO(job.id);
    CHECK(answer.status == 200);
    if (answer.status == 200) ++found;
  }
  CHECK(found == acknowledged.size());
  const nlohmann::json kept = http_call(port_again, http::verb::get, "/api/v1/jobs/" + succeeded,
                                        {{"Authorization", user01}})
                                  .json();
  CHECK(kept.at("state") == "succeeded");
  CHECK(kept.at("outputs") == finished.at("outputs"));
  CHECK(http_call(port_again, http::verb::get, "/api/v1/jobs/" + cancelled, {{"Authorization", user01}})
            .json()
            .at("state") == "cancelled");

  const std::optional<comfyq::tenant_config> tenant = queue_of(data).find_tenant("user05");
  REQUIRE(tenant);
  CHECK(tenant->weight == 3.0);
  CHECK(tenant->max_queued == 7);

  const int second_redis = redis_pid(data);
  again.signal(SIGTERM);
  const auto status = again.wait_for_exit(std::chrono::seconds(30));
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(ends_within(second_redis, std::chrono::seconds(5)));
  CHECK_FALSE(comfyq::redis::private_server::accepts_connections(data / "redis" / "redis.sock"));
}

TEST_CASE("comfyq-server refuses a data folder another running comfyq-server uses", "[server][restart]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path data = scratch.path() / "data";
  child_process first(COMFYQ_SERVER_EXECUTABLE,
                      {"--listen", "127.0.0.1:0", "--data", data.string(), "--comfyui", "127.0.0.1:9"},
                      (scratch.path() / "first.log").string());
  listening_port(first);

  const auto second = comfyq::testing::run_program(
      COMFYQ_SERVER_EXECUTABLE, {"--listen", "127.0.0.1:0", "--data", data.string(), "--comfyui", "127.0.0.1:9"});
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("another program uses this folder") != std::string::npos);
}
