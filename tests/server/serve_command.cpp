// comfyq-server serve as a newcomer runs it: users made on first start, a participant's job run
// on the demo backend into that participant's folder, a server without a ComfyUI that says so,
// SIGTERM that ends it with status 0, and wrong settings refused with the flag to fix.

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server/serving.hpp"
#include "support/child_process.hpp"
#include "support/http_call.hpp"
#include "support/program_run.hpp"
#include "support/scratch_folder.hpp"

namespace http = boost::beast::http;
using comfyq::testing::basic;
using comfyq::testing::child_process;
using comfyq::testing::contents;
using comfyq::testing::http_call;
using comfyq::testing::listening_port;
using comfyq::testing::password_of;
using comfyq::testing::submit_txt2img;
using comfyq::testing::wait_for_job;

TEST_CASE("comfyq-server --demo: users made on first start, a job run on the demo backend, SIGTERM ends it", "[server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path data = scratch.path() / "data";
  child_process server(COMFYQ_SERVER_EXECUTABLE, {"--demo", "--listen", "127.0.0.1:0", "--data", data.string()},
                       (scratch.path() / "server.log").string());
  const std::uint16_t port = listening_port(server);
  INFO(contents(scratch.path() / "server.log"));

  const std::string user01 = basic("user01", password_of(data / "credentials.txt", "user01"));
  const auto submitted = submit_txt2img(port, user01);
  REQUIRE(submitted.status == 201);
  const std::string id = submitted.json().at("id");

  const nlohmann::json finished = wait_for_job(port, id, user01, [](const nlohmann::json& job) {
    return job.at("state") != "queued" && job.at("state") != "running";
  });
  REQUIRE(finished.at("state") == "succeeded");
  REQUIRE(finished.at("outputs").size() == 1);
  const std::string name = finished.at("outputs")[0].at("name");
  CHECK(std::filesystem::is_regular_file(data / "files" / "user01" / "outputs" / id / "1" / name));

  // Another participant does not see it; the admin does.
  const std::string user02 = basic("user02", password_of(data / "credentials.txt", "user02"));
  CHECK(http_call(port, http::verb::get, "/api/v1/jobs/" + id, {{"Authorization", user02}}).status == 404);
  const std::string admin = basic("admin", password_of(data / "credentials.txt", "admin"));
  CHECK(http_call(port, http::verb::get, "/api/v1/jobs/" + id, {{"Authorization", admin}}).status == 200);

  server.signal(SIGTERM);
  const auto status = server.wait_for_exit(std::chrono::seconds(30));
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  const std::string log = contents(scratch.path() / "server.log");
  CHECK(log.find("\"event\":\"demo.started\"") != std::string::npos);
  CHECK(log.find("\"event\":\"server.stopped\"") != std::string::npos);

  {  // a second start keeps the users and the passwords handed out
    const std::string credentials = contents(data / "credentials.txt");
    child_process again(COMFYQ_SERVER_EXECUTABLE, {"--demo", "--listen", "127.0.0.1:0", "--data", data.string()},
                        (scratch.path() / "server-again.log").string());
    const std::uint16_t port_again = listening_port(again);
    CHECK(contents(data / "credentials.txt") == credentials);
    CHECK(http_call(port_again, http::verb::get, "/api/v1/jobs/nosuchjob", {{"Authorization", user01}}).status == 404);
  }
}

TEST_CASE("comfyq-server --store memory with no ComfyUI answering: it serves, queues jobs, and says how to attach a "
          "worker",
          "[server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path data = scratch.path() / "data";
  const std::filesystem::path log_file = scratch.path() / "server.log";
  // Port 9 (discard) on loopback: nothing listens there.
  child_process server(COMFYQ_SERVER_EXECUTABLE,
                       {"serve", "--listen", "127.0.0.1:0", "--data", data.string(), "--comfyui", "127.0.0.1:9",
                        "--store", "memory"},
                       log_file.string());
  const std::uint16_t port = listening_port(server);
  const std::string user01 = basic("user01", password_of(data / "credentials.txt", "user01"));
  const auto submitted = submit_txt2img(port, user01);
  REQUIRE(submitted.status == 201);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (contents(log_file).find("workers.none") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const std::string log = contents(log_file);
  INFO(log);
  CHECK(log.find("no GPU worker is connected") != std::string::npos);
  CHECK(log.find("--listen 127.0.0.1 --port 9") != std::string::npos);
  CHECK(log.find("--demo") != std::string::npos);
  const auto job = http_call(port, http::verb::get, "/api/v1/jobs/" + submitted.json().at("id").get<std::string>(),
                             {{"Authorization", user01}});
  CHECK(job.json().at("state") == "queued");
  CHECK(log.find("\"store\":\"memory: nothing is kept\"") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(data / "redis"));

  server.signal(SIGINT);
  const auto status = server.wait_for_exit(std::chrono::seconds(30));
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("comfyq-server serve refuses a wrong setting with the flag that sets it, and starts nothing", "[server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::string data = (scratch.path() / "data").string();
  using comfyq::testing::run_program;

  const auto no_port = run_program(COMFYQ_SERVER_EXECUTABLE, {"--listen", "127.0.0.1", "--data", data});
  CHECK(no_port.exit_code == 2);
  CHECK(no_port.err.find("--listen: '127.0.0.1' has no port") != std::string::npos);

  const auto both = run_program(COMFYQ_SERVER_EXECUTABLE, {"serve", "--demo", "--comfyui", "127.0.0.1:8188", "--data", data});
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("--demo: ") != std::string::npos);

  const auto bad_comfyui = run_program(COMFYQ_SERVER_EXECUTABLE, {"--comfyui", "http://", "--data", data});
  CHECK(bad_comfyui.exit_code == 2);
  CHECK(bad_comfyui.err.find("--comfyui: ") != std::string::npos);

  const auto no_proxy = run_program(COMFYQ_SERVER_EXECUTABLE, {"--auth", "header", "--trusted-proxies", "", "--data", data});
  CHECK(no_proxy.exit_code == 2);

  const auto two_stores = run_program(COMFYQ_SERVER_EXECUTABLE,
                                      {"--store", "memory", "--redis", "redis://127.0.0.1:6379", "--data", data});
  CHECK(two_stores.exit_code == 2);
  CHECK(two_stores.err.find("--store: 'memory' keeps the queue here") != std::string::npos);

  const auto no_such_store = run_program(COMFYQ_SERVER_EXECUTABLE, {"--store", "disk", "--data", data});
  CHECK(no_such_store.exit_code == 2);

  CHECK_FALSE(std::filesystem::exists(data));
}
