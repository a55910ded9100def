// comfyui-standin as a process of its own: it prints its port, serves, stops on SIGTERM,
// dies to SIGKILL like any process, and a new process on the same port starts empty, as a
// restarted ComfyUI does (queue, history and prompt counter gone; files on disk kept).

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "comfyui_contract/frames.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "comfyui_contract/standin_process.hpp"

namespace contract = comfyq::testing::contract;
using comfyq::testing::http_get;
using comfyq::testing::http_post_json;
using contract::invert_job;
using contract::json;
using contract::standin_process;

TEST_CASE("comfyui-standin serves a job and stops on SIGTERM", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process({"--port", "0", "--output-dir", (scratch.path() / "output").string(), "--delay-ms", "10"});
  const auto port = process.port();
  CHECK(http_get(port, "/system_stats").status == 200);
  REQUIRE(http_post_json(port, "/prompt", invert_job("tenantA-client-1", "process-1")).status == 200);
  CHECK(contract::wait_for_history(port, "process-1").at("status").at("status_str") == "success");
  CHECK(std::filesystem::exists(scratch.path() / "output/tenantA/job123/out_00001_.png"));

  process.signal(SIGTERM);
  const auto status = process.wait_for_exit();
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("comfyui-standin dies to SIGKILL", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process({"--port", "0", "--output-dir", (scratch.path() / "output").string()});
  const auto port = process.port();
  CHECK(http_get(port, "/queue").status == 200);
  process.signal(SIGKILL);
  const auto status = process.wait_for_exit();
  REQUIRE(status);
  CHECK(WIFSIGNALED(*status));
  CHECK_THROWS(http_get(port, "/queue"));
}

TEST_CASE("comfyui-standin killed mid-job comes back empty on the same port", "[comfyui][process]") {
  contract::scratch_folder scratch;
  const std::string output = (scratch.path() / "output").string();
  standin_process killed({"--port", "0", "--output-dir", output, "--node-delay-ms", "ImageInvert=60000"});
  const auto port = killed.port();
  {
    comfyq::testing::ws_client socket(port, "/ws?clientId=killed");
    REQUIRE(http_post_json(port, "/prompt", invert_job("killed", "killed-1")).status == 200);
    REQUIRE(contract::is_executing(
        contract::frames_until(socket, [](const auto& f) { return contract::is_executing(f, "2"); }).back(), "2"));
    killed.signal(SIGKILL);
    const auto status = killed.wait_for_exit();
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    const auto frames = contract::frames_until(socket, [](const auto&) { return false; });
    REQUIRE(frames.back().ended);
    CHECK_FALSE(frames.back().clean_close);
  }

  standin_process restarted({"--port", std::to_string(port), "--output-dir", output});
  REQUIRE(restarted.port() == port);
  CHECK(http_get(port, "/queue").json() == json{{"queue_running", json::array()}, {"queue_pending", json::array()}});
  CHECK(http_get(port, "/history").json().empty());
  CHECK(http_get(port, "/api/jobs/killed-1").status == 404);

  const json accepted = http_post_json(port, "/prompt", invert_job("killed", "after-kill")).json();
  CHECK(accepted.at("number") == 0);  // a new process counts from 0 again
  CHECK(contract::wait_for_history(port, "after-kill").at("status").at("status_str") == "success");
  // The killed job never reached SaveImage: the first file is still number 1.
  CHECK(std::filesystem::exists(scratch.path() / "output/tenantA/job123/out_00001_.png"));
}
