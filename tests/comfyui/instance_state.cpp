// What a worker reads about its ComfyUI as a whole, from the recorded answers: its version and
// devices (GET /system_stats) and the prompts it has running and pending (GET /queue).
#include <catch2/catch.hpp>

#include <string>

#include "comfyq/comfyui/instance_state.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/expect_error.hpp"

using comfyq::comfyui::queued_prompt;
using comfyq::comfyui::read_queue;
using comfyq::comfyui::read_system_stats;

namespace {

// The JSON body of a recorded *.http.txt answer.
nlohmann::json recorded_body(const char* name) {
  const std::string bytes = comfyq::testing::recording_bytes(name);
  const auto body = bytes.find('{');
  REQUIRE(body != std::string::npos);
  return nlohmann::json::parse(bytes.substr(body));
}

}  // namespace

TEST_CASE("the version and devices come from /system_stats as recorded", "[comfyui][instance_state]") {
  const auto identity = read_system_stats(recorded_body("GET_system_stats.http.txt"));
  CHECK(identity.version == "0.8.0");
  CHECK(identity.gpu == "cpu");

  SECTION("several devices are listed in order; text a store cannot keep is made printable") {
    const auto two = read_system_stats({{"system", {{"comfyui_version", "0.9\n"}}},
                                        {"devices", {{{"name", "cuda:0 NVIDIA H100"}}, {{"name", "cuda:1 GPU \xc3\xa9"}}}}});
    CHECK(two.version == "0.9?");
    CHECK(two.gpu == "cuda:0 NVIDIA H100, cuda:1 GPU ??");
  }
  SECTION("an answer that is not /system_stats's shape is a protocol error") {
    using comfyq::test::expect_error;
    CHECK(expect_error<comfyq::comfyui_protocol_error>([] { read_system_stats(nlohmann::json::array()); }).field() ==
          "system_stats");
    CHECK(expect_error<comfyq::comfyui_protocol_error>([] { read_system_stats({{"devices", "cpu"}}); }).field() ==
          "system_stats.devices");
  }
}

TEST_CASE("/queue says which prompts run and wait, and whose client sent them", "[comfyui][instance_state]") {
  const auto exchanges = comfyq::testing::http_exchanges(
      comfyq::testing::load_transcript("queue_clear_and_interrupt.jsonl"), "/queue");
  nlohmann::json busy;
  for (const auto& e : exchanges) {
    if (e["request"].value("method", "") == "GET" && !e["response"]["json"]["queue_pending"].empty()) busy = e["response"]["json"];
  }
  REQUIRE_FALSE(busy.is_null());
  const auto prompts = read_queue(busy);
  REQUIRE(prompts.size() >= 2);
  CHECK(prompts.front().prompt_id == "q2-blocker");
  CHECK(prompts.front().client_id == "tenantQ2");
  CHECK(prompts.front().running);
  CHECK_FALSE(prompts.back().running);

  CHECK(read_queue({{"queue_running", nlohmann::json::array()}, {"queue_pending", nlohmann::json::array()}}).empty());
  CHECK(comfyq::test::expect_error<comfyq::comfyui_protocol_error>([] { read_queue({{"queue_running", {{1}}}}); })
            .field() == "queue.queue_running");
}
