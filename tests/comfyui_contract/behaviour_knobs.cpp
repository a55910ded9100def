// The stand-in's knobs: each misbehaviour a real ComfyUI can show, in the shapes the
// recordings show for it. A failing node ends the job with an execution_error like the
// recorded one; a slow node keeps the job running; a dropped socket misses what is sent
// while it is away but the job goes on; a crash closes every connection and a restart
// comes back empty on the same port (files on disk stay, previews do not); a rejected node
// gives a 400 or a partial accept; samplers report steps and stop at the next one when
// interrupted.

#include <catch2/catch.hpp>

#include "comfyui_contract/frames.hpp"
#include "comfyui_contract/json_shape.hpp"
#include "comfyui_contract/recordings.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;
using comfyq::testing::behaviour;
using comfyq::testing::http_get;
using comfyq::testing::http_post_json;
using comfyq::testing::ws_client;
using contract::invert_job;
using contract::sampler_job;
using contract::json;

namespace {

/// The first recorded WebSocket message of `type` in `transcript`.
json recorded_message(const char* transcript, const std::string& type) {
  for (const auto& event : contract::load_transcript(transcript)) {
    if (event.value("kind", "") == "text" && event.at("data").at("type") == type) return event.at("data").at("data");
  }
  throw std::runtime_error("no " + type + " in " + transcript);
}

void check_same_shape(const json& recorded, const json& actual) {
  for (const auto& difference : contract::compare_json(recorded, actual, {.shapes_only = true})) FAIL_CHECK(difference);
}

}  // namespace

TEST_CASE("fail_node: the job ends with an execution_error shaped as recorded", "[comfyui][knobs]") {
  behaviour knobs;
  knobs.fail_node = "ImageInvert";
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();
  ws_client socket(port, "/ws?clientId=failing");
  REQUIRE(http_post_json(port, "/prompt", invert_job("failing", "fail-1")).status == 200);
  const auto frames = contract::frames_until(socket, contract::is_job_end);
  REQUIRE(contract::is_job_end(frames.back()));

  const json error = contract::first_data(frames, "execution_error");
  REQUIRE(!error.is_null());
  check_same_shape(recorded_message("upload_view_and_execution_error.jsonl", "execution_error"), error);
  CHECK(error.at("node_id") == "2");
  CHECK(error.at("node_type") == "ImageInvert");
  CHECK(error.at("executed") == json::array({"1"}));
  CHECK(error.at("exception_message") == knobs.fail_message + "\n");

  const json entry = contract::wait_for_history(port, "fail-1");
  CHECK(entry.at("status").at("status_str") == "error");
  CHECK(entry.at("outputs").empty());
  const json job = http_get(port, "/api/jobs/fail-1").json();
  CHECK(job.at("status") == "failed");
  CHECK(job.at("execution_error").at("node_id") == "2");
}

TEST_CASE("node_delays: a slow node keeps its job running", "[comfyui][knobs]") {
  behaviour knobs;
  knobs.node_delays["2"] = std::chrono::milliseconds(800);  // ImageInvert
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();
  ws_client socket(port, "/ws?clientId=slow");
  REQUIRE(http_post_json(port, "/prompt", invert_job("slow", "slow-1")).status == 200);
  REQUIRE(contract::is_executing(contract::frames_until(socket, [](const auto& f) { return contract::is_executing(f, "2"); }).back(), "2"));

  const json queue = http_get(port, "/queue").json();
  REQUIRE(queue.at("queue_running").size() == 1);
  CHECK(queue.at("queue_running").at(0).at(1) == "slow-1");
  CHECK(contract::is_job_end(contract::frames_until(socket, contract::is_job_end).back()));
  CHECK(contract::wait_for_history(port, "slow-1").at("status").at("status_str") == "success");
}

TEST_CASE("drop_socket_at_node: the socket is cut, the job goes on, a reconnect hears the rest",
          "[comfyui][knobs]") {
  behaviour knobs;
  knobs.drop_socket_at_node = "2";
  knobs.node_delays["ImageInvert"] = std::chrono::milliseconds(1000);
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();

  ws_client first(port, "/ws?clientId=dropped");
  REQUIRE(http_post_json(port, "/prompt", invert_job("dropped", "drop-1")).status == 200);
  const auto before = contract::frames_until(first, [](const auto&) { return false; });
  REQUIRE(before.back().ended);
  CHECK_FALSE(before.back().clean_close);
  REQUIRE(before.size() >= 2);
  CHECK(contract::is_executing(before[before.size() - 2], "2"));  // cut when node 2 started
  CHECK(fixture.standin.knobs().drop_socket_at_node.empty());  // it fires once

  ws_client second(port, "/ws?clientId=dropped");
  const auto greeting = second.next_frame(std::chrono::seconds(10));
  REQUIRE(greeting);
  CHECK(greeting->json().at("data").at("status").at("exec_info").at("queue_remaining") == 1);
  const auto current = second.next_frame(std::chrono::seconds(10));
  REQUIRE(current);
  CHECK(current->json() == json{{"type", "executing"}, {"data", {{"node", "2"}}}});
  CHECK(contract::is_job_end(contract::frames_until(second, contract::is_job_end).back()));
  CHECK(contract::wait_for_history(port, "drop-1").at("status").at("status_str") == "success");
}

TEST_CASE("crash_at_node: connections close, restart() comes back empty on the same port", "[comfyui][knobs]") {
  behaviour knobs;
  knobs.crash_at_node = "2";
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();
  ws_client socket(port, "/ws?clientId=crashing");
  REQUIRE(http_post_json(port, "/prompt", invert_job("crashing", "crash-1")).status == 200);
  const auto frames = contract::frames_until(socket, [](const auto&) { return false; });
  REQUIRE(frames.back().ended);
  CHECK_FALSE(frames.back().clean_close);
  CHECK_THROWS(http_get(port, "/queue"));

  fixture.standin.restart();
  REQUIRE(fixture.standin.port() == port);
  CHECK(http_get(port, "/history").json().empty());
  CHECK(http_get(port, "/history/crash-1").json().empty());
  CHECK(http_get(port, "/queue").json() == json{{"queue_running", json::array()}, {"queue_pending", json::array()}});
  CHECK(fixture.standin.knobs().crash_at_node.empty());  // it fired

  const json accepted = http_post_json(port, "/prompt", invert_job("crashing", "after-restart")).json();
  CHECK(accepted.at("number") == 0);  // the counter starts again, as in a new process
  CHECK(contract::wait_for_history(port, "after-restart").at("status").at("status_str") == "success");
}

TEST_CASE("restart(): queued and running jobs are lost", "[comfyui][knobs]") {
  behaviour knobs;
  knobs.node_delays["EmptyImage"] = std::chrono::seconds(60);  // cut short by the restart
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();
  for (const char* id : {"lost-1", "lost-2", "lost-3"}) {
    REQUIRE(http_post_json(port, "/prompt", invert_job("lost", id)).status == 200);
  }
  CHECK(http_get(port, "/prompt").json().at("exec_info").at("queue_remaining") == 3);
  fixture.standin.restart();
  CHECK(http_get(port, "/prompt").json().at("exec_info").at("queue_remaining") == 0);
  CHECK(http_get(port, "/api/jobs").json().at("jobs").empty());
}

TEST_CASE("restart(): output files stay, previews are wiped", "[comfyui][knobs]") {
  contract::standin_fixture fixture;
  const auto port = fixture.standin.port();
  json body = invert_job("c", "kept");
  body["prompt"]["4"] = json{{"class_type", "PreviewImage"}, {"inputs", {{"images", json::array({"2", 0})}}}};
  REQUIRE(http_post_json(port, "/prompt", body).status == 200);
  const json outputs = contract::wait_for_history(port, "kept").at("outputs");
  const auto view = [&](const json& image) {
    return http_get(port, "/view?filename=" + image.at("filename").get<std::string>() +
                              "&subfolder=" + image.at("subfolder").get<std::string>() +
                              "&type=" + image.at("type").get<std::string>())
        .status;
  };
  const json saved = outputs.at("3").at("images").at(0);
  const json preview = outputs.at("4").at("images").at(0);
  REQUIRE(view(saved) == 200);
  REQUIRE(view(preview) == 200);

  fixture.standin.restart();
  CHECK(view(saved) == 200);
  CHECK(view(preview) == 404);  // ComfyUI empties its temp folder when it starts
}

TEST_CASE("invalid_node: a 400 with node_errors, or a partial accept", "[comfyui][knobs]") {
  const json recorded_400 = contract::labelled(contract::load_transcript("post_prompt_errors.jsonl"),
                                               "missing required input (ImageInvert.image)")
                                .at("response")
                                .at("json");
  behaviour knobs;
  knobs.invalid_node = "SaveImage";
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();

  SECTION("every output depends on it: rejected") {
    const auto reply = http_post_json(port, "/prompt", invert_job("c", "rejected"));
    REQUIRE(reply.status == 400);
    const json body = reply.json();
    check_same_shape(recorded_400.at("error"), body.at("error"));
    check_same_shape(recorded_400.at("node_errors").at("2"), body.at("node_errors").at("3"));
    CHECK(body.at("node_errors").size() == 1);
    CHECK(body.at("node_errors").at("3").at("errors").at(0).at("type") == "custom_validation_failed");
    CHECK(body.at("node_errors").at("3").at("dependent_outputs") == json::array({"3"}));
  }
  SECTION("another output does not: accepted without it") {
    json body = invert_job("c", "partial");
    body["prompt"]["4"] = json{{"class_type", "PreviewImage"}, {"inputs", {{"images", json::array({"2", 0})}}}};
    const auto reply = http_post_json(port, "/prompt", body);
    REQUIRE(reply.status == 200);
    CHECK(reply.json().at("node_errors").at("3").at("class_type") == "SaveImage");
    const json entry = contract::wait_for_history(port, "partial");
    CHECK(entry.at("prompt").at(4) == json::array({"4"}));
    CHECK(entry.at("outputs").contains("4"));
    CHECK_FALSE(entry.at("outputs").contains("3"));
  }
}

TEST_CASE("samplers report progress steps with previews", "[comfyui][knobs]") {
  behaviour knobs;
  knobs.sampler_previews = true;
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();
  ws_client socket(port, "/ws?clientId=sampling");
  REQUIRE(http_post_json(port, "/prompt", sampler_job("sampling", "sample-1")).status == 200);
  const auto frames = contract::frames_until(socket, contract::is_job_end);
  REQUIRE(contract::is_job_end(frames.back()));

  std::vector<int> steps;
  int previews_after_progress = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (contract::frame_type(frames[i]) == "progress") {
      const json data = frames[i].json().at("data");
      CHECK(data.at("node") == "3");
      CHECK(data.at("max") == 4);
      steps.push_back(data.at("value").get<int>());
      if (i + 1 < frames.size() && frames[i + 1].binary && frames[i + 1].data.substr(0, 8) == std::string("\0\0\0\1\0\0\0\2", 8)) {
        ++previews_after_progress;
      }
    }
  }
  CHECK(steps == std::vector<int>{1, 2, 3, 4});
  CHECK(previews_after_progress == 4);
  CHECK(contract::wait_for_history(port, "sample-1").at("outputs").at("9").at("images").size() == 1);
}

TEST_CASE("an interrupt stops a sampler at its next step", "[comfyui][knobs]") {
  behaviour knobs;
  knobs.node_delays["KSampler"] = std::chrono::seconds(60);  // 15 s a step, unless interrupted
  contract::standin_fixture fixture(knobs);
  const auto port = fixture.standin.port();
  ws_client socket(port, "/ws?clientId=stopping");
  REQUIRE(http_post_json(port, "/prompt", sampler_job("stopping", "stop-1")).status == 200);
  REQUIRE(contract::is_executing(contract::frames_until(socket, [](const auto& f) { return contract::is_executing(f, "3"); }).back(), "3"));
  REQUIRE(http_post_json(port, "/interrupt", {{"prompt_id", "stop-1"}}).status == 200);

  const auto frames = contract::frames_until(socket, contract::is_job_end);
  REQUIRE(contract::is_job_end(frames.back()));
  const json interrupted = contract::first_data(frames, "execution_interrupted");
  REQUIRE(!interrupted.is_null());
  check_same_shape(recorded_message("queue_clear_and_interrupt.jsonl", "execution_interrupted"), interrupted);
  CHECK(interrupted.at("node_id") == "3");
  CHECK(interrupted.at("node_type") == "KSampler");
  const json job = http_get(port, "/api/jobs/stop-1").json();
  CHECK(job.at("status") == "failed");
  CHECK_FALSE(job.contains("execution_error"));
}
