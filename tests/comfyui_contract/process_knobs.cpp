// The knobs as comfyui-standin's command-line flags, for tests that run it as a process:
// --delay-ms and --node-delay-ms keep a job running, --fail-node ends it with an
// execution_error, --invalid-node rejects it, --drop-socket-at-node cuts the job's socket
// while the job goes on, --crash-at-node makes the process exit mid-job (status 70), and
// --split-writes sends an answer's body apart from its headers.

#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "comfyui_contract/frames.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "comfyui_contract/standin_process.hpp"

namespace contract = comfyq::testing::contract;
using comfyq::testing::http_get;
using comfyq::testing::http_post_json;
using comfyq::testing::ws_client;
using contract::invert_job;
using contract::json;
using contract::standin_process;

namespace {

/// A comfyui-standin on any free port, writing under `scratch`, with `flags`.
std::vector<std::string> standin_arguments(const contract::scratch_folder& scratch, std::vector<std::string> flags) {
  std::vector<std::string> arguments{"--port", "0", "--output-dir", (scratch.path() / "output").string()};
  arguments.insert(arguments.end(), flags.begin(), flags.end());
  return arguments;
}

/// Frames up to the first executing {node: `node_id`}.
std::vector<comfyq::testing::ws_frame> frames_until_executing(ws_client& socket, const std::string& node_id) {
  return contract::frames_until(socket, [&](const auto& frame) { return contract::is_executing(frame, node_id); });
}

}  // namespace

TEST_CASE("comfyui-standin --delay-ms and --node-delay-ms keep a job running", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process(standin_arguments(scratch, {"--delay-ms", "300", "--node-delay-ms", "2=1000"}));
  const auto port = process.port();
  ws_client socket(port, "/ws?clientId=slow");
  REQUIRE(http_post_json(port, "/prompt", invert_job("slow", "slow-1")).status == 200);
  for (const std::string node : {"1", "2"}) {
    INFO("node " << node);
    REQUIRE(contract::is_executing(frames_until_executing(socket, node).back(), node));
    const json queue = http_get(port, "/queue").json();
    REQUIRE(queue.at("queue_running").size() == 1);
    CHECK(queue.at("queue_running").at(0).at(1) == "slow-1");
  }
  CHECK(contract::is_job_end(contract::frames_until(socket, contract::is_job_end).back()));
  CHECK(contract::wait_for_history(port, "slow-1").at("status").at("status_str") == "success");
}

TEST_CASE("comfyui-standin --fail-node ends the job with an execution_error", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process(standin_arguments(scratch, {"--fail-node", "ImageInvert", "--fail-message", "CUDA out of memory"}));
  const auto port = process.port();
  ws_client socket(port, "/ws?clientId=failing");
  REQUIRE(http_post_json(port, "/prompt", invert_job("failing", "fail-1")).status == 200);
  const auto frames = contract::frames_until(socket, contract::is_job_end);
  REQUIRE(contract::is_job_end(frames.back()));
  const json error = contract::first_data(frames, "execution_error");
  REQUIRE(!error.is_null());
  CHECK(error.at("node_id") == "2");
  CHECK(error.at("exception_message") == "CUDA out of memory\n");
  CHECK(contract::wait_for_history(port, "fail-1").at("status").at("status_str") == "error");
  CHECK(http_get(port, "/api/jobs/fail-1").json().at("status") == "failed");
}

TEST_CASE("comfyui-standin --invalid-node rejects a prompt that needs it", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process(standin_arguments(scratch, {"--invalid-node", "SaveImage"}));
  const auto reply = http_post_json(process.port(), "/prompt", invert_job("c", "rejected"));
  REQUIRE(reply.status == 400);
  CHECK(reply.json().at("node_errors").at("3").at("errors").at(0).at("type") == "custom_validation_failed");
}

TEST_CASE("comfyui-standin --drop-socket-at-node cuts the socket, the job goes on", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process(
      standin_arguments(scratch, {"--drop-socket-at-node", "ImageInvert", "--node-delay-ms", "ImageInvert=300"}));
  const auto port = process.port();
  ws_client socket(port, "/ws?clientId=dropped");
  REQUIRE(http_post_json(port, "/prompt", invert_job("dropped", "drop-1")).status == 200);
  const auto frames = contract::frames_until(socket, [](const auto&) { return false; });
  REQUIRE(frames.back().ended);
  CHECK_FALSE(frames.back().clean_close);
  REQUIRE(frames.size() >= 2);
  CHECK(contract::is_executing(frames[frames.size() - 2], "2"));  // cut when node 2 started
  CHECK(contract::wait_for_history(port, "drop-1").at("status").at("status_str") == "success");
}

TEST_CASE("comfyui-standin --crash-at-node exits mid-job", "[comfyui][process]") {
  contract::scratch_folder scratch;
  standin_process process(
      standin_arguments(scratch, {"--crash-at-node", "ImageInvert", "--node-delay-ms", "EmptyImage=50"}));
  const auto port = process.port();
  ws_client socket(port, "/ws?clientId=tenantA-client-1");
  REQUIRE(http_post_json(port, "/prompt", invert_job("tenantA-client-1", "process-crash")).status == 200);
  const auto status = process.wait_for_exit();
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 70);
  const auto frames = contract::frames_until(socket, [](const auto&) { return false; });
  REQUIRE(frames.back().ended);
  CHECK_FALSE(frames.back().clean_close);
}

TEST_CASE("comfyui-standin --split-writes sends an answer's body in pieces a pause apart", "[comfyui][process]") {
  namespace net = boost::asio;
  contract::scratch_folder scratch;
  standin_process process(standin_arguments(scratch, {"--split-writes"}));
  const auto port = process.port();
  CHECK(http_get(port, "/object_info").json().contains("SaveImage"));

  // /object_info is a few hundred KB: six pieces, each 5 ms after the one before.
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  const auto sent = std::chrono::steady_clock::now();
  net::write(socket, net::buffer(std::string("GET /object_info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")));
  std::string answer;
  boost::system::error_code error;
  char chunk[65536];
  while (!error) answer.append(chunk, socket.read_some(net::buffer(chunk), error));
  CHECK(std::chrono::steady_clock::now() - sent >= std::chrono::milliseconds(25));
  CHECK(answer.starts_with("HTTP/1.1 200 OK"));
}
