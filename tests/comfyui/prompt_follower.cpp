// Following one prompt through the recorded frames of real ComfyUI jobs: the progress to
// republish, and how each ended (success, error, interrupt, or over with the outcome missed).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "comfyq/comfyui/prompt_follower.hpp"
#include "support/comfyui_recordings.hpp"

using comfyq::comfyui::parse_message;
using comfyq::comfyui::prompt_end;
using comfyq::comfyui::prompt_follower;

namespace {

struct followed {
  std::vector<nlohmann::json> progress;
  std::size_t frames_after_outcome = 0;  ///< frames that came after the outcome was known
};

// Feeds socket `ws`'s frames of a transcript to `follower`.
followed follow(prompt_follower& follower, const char* transcript, const char* ws) {
  followed seen;
  for (const std::string& frame : comfyq::testing::text_frames_to(comfyq::testing::load_transcript(transcript), ws)) {
    if (follower.end() != prompt_end::running) ++seen.frames_after_outcome;
    if (auto update = follower.on_message(parse_message(frame))) seen.progress.push_back(*update);
  }
  return seen;
}

}  // namespace

TEST_CASE("a job that succeeds: each node's start, then success", "[comfyui][follower]") {
  prompt_follower follower("8fbfb7df-1e13-4917-9ab3-c25823098c6f");
  const followed seen = follow(follower, "job_saveimage_ws_legacy.jsonl", "A");
  CHECK(follower.end() == prompt_end::succeeded);
  CHECK(follower.started());
  CHECK(follower.error().empty());
  CHECK(seen.progress == std::vector<nlohmann::json>{{{"node", "1"}}, {{"node", "2"}}, {{"node", "3"}}});
  CHECK(follower.node() == "3");
  // execution_success is followed by the status broadcast, then the end marker: over only then.
  CHECK(seen.frames_after_outcome == 2);
  CHECK(follower.over());
}

TEST_CASE("a sampler-like node's steps are republished with their counts", "[comfyui][follower]") {
  const std::vector<nlohmann::json> events = comfyq::testing::load_transcript("ws_binary_frames_legacy_client.jsonl");
  const std::string prompt_id = comfyq::testing::http_exchanges(events, "/prompt").at(0)["response"]["json"]["prompt_id"];
  prompt_follower follower(prompt_id);
  const followed seen = follow(follower, "ws_binary_frames_legacy_client.jsonl", "L");
  CHECK(follower.end() == prompt_end::succeeded);
  std::vector<nlohmann::json> steps;
  for (const nlohmann::json& p : seen.progress) {
    if (p.contains("value")) steps.push_back(p);
  }
  CHECK(steps == std::vector<nlohmann::json>{{{"node", "2"}, {"value", 0}, {"max", 2}},
                                             {{"node", "2"}, {"value", 1}, {"max", 2}}});
}

TEST_CASE("a node that raises fails the prompt, naming the node and the exception", "[comfyui][follower]") {
  const std::vector<nlohmann::json> events = comfyq::testing::load_transcript("upload_view_and_execution_error.jsonl");
  std::string prompt_id;
  for (const nlohmann::json& e : events) {
    if (e.value("kind", "") == "text" && e["data"]["type"] == "execution_error") prompt_id = e["data"]["data"]["prompt_id"];
  }
  REQUIRE_FALSE(prompt_id.empty());
  prompt_follower follower(prompt_id);
  follow(follower, "upload_view_and_execution_error.jsonl", "E");
  CHECK(follower.end() == prompt_end::failed);
  CHECK(follower.error() ==
        "node 1 (LoadImage) raised PIL.UnidentifiedImageError: cannot identify image file "
        "'<comfyui>/input/corrupt.png'");
  CHECK(follower.error_details()["traceback"].is_array());
}

TEST_CASE("POST /interrupt ends the prompt at the node it reached", "[comfyui][follower]") {
  prompt_follower follower("q2-blocker");
  follow(follower, "queue_clear_and_interrupt.jsonl", "Q2");
  CHECK(follower.end() == prompt_end::interrupted);
  CHECK(follower.error() == "interrupted at node 3");
  CHECK(follower.error_details()["node_type"] == "ImageScale");
}

TEST_CASE("after a reconnect, the prompt-less executing frame is taken as this prompt's", "[comfyui][follower]") {
  const std::vector<nlohmann::json> events = comfyq::testing::load_transcript("ws_reconnect_midjob.jsonl");
  prompt_follower follower("recon-job-1");
  const followed before = follow(follower, "ws_reconnect_midjob.jsonl", "first-conn");
  CHECK_FALSE(follower.over());
  CHECK(before.progress.back() == nlohmann::json{{"node", "2"}});
  const followed after = follow(follower, "ws_reconnect_midjob.jsonl", "second-conn");
  CHECK(after.progress.front() == nlohmann::json{{"node", "2"}});  // from {"node": "2"}, no prompt_id
  CHECK(follower.end() == prompt_end::succeeded);
}

TEST_CASE("frames of other prompts are ignored, the leaked progress of a prompt without client_id too",
          "[comfyui][follower]") {
  const std::vector<nlohmann::json> events = comfyq::testing::load_transcript("ws_visibility_multi_client.jsonl");
  const std::vector<nlohmann::json> posts = comfyq::testing::http_exchanges(events, "/prompt");
  const std::string mine = posts.at(0)["response"]["json"]["prompt_id"];
  const std::string anonymous = posts.at(1)["response"]["json"]["prompt_id"];

  prompt_follower watching_other(anonymous);
  const followed on_a = follow(watching_other, "ws_visibility_multi_client.jsonl", "A");
  CHECK_FALSE(watching_other.over());  // socket A never hears how the anonymous prompt ended

  prompt_follower follower(mine);
  follow(follower, "ws_visibility_multi_client.jsonl", "A");
  CHECK(follower.end() == prompt_end::succeeded);
  CHECK(on_a.progress.empty());
}

TEST_CASE("the outcome is known at its frame, but the prompt is over only at the end marker", "[comfyui][follower]") {
  prompt_follower follower("j1");
  follower.on_message(parse_message(R"({"type":"execution_success","data":{"prompt_id":"j1"}})"));
  CHECK(follower.end() == prompt_end::succeeded);
  CHECK_FALSE(follower.over());  // ComfyUI has not written the history entry yet
  follower.on_message(parse_message(R"({"type":"executing","data":{"node":null,"prompt_id":"j1"}})"));
  CHECK(follower.end() == prompt_end::succeeded);
  CHECK(follower.over());
}

TEST_CASE("the end marker alone means over with the outcome unknown", "[comfyui][follower]") {
  prompt_follower follower("j1");
  CHECK_FALSE(follower.on_message(parse_message(R"({"type":"execution_start","data":{"prompt_id":"j1"}})")));
  CHECK(follower.started());
  CHECK_FALSE(follower.on_message(parse_message(R"({"type":"executing","data":{"node":null,"prompt_id":"j1"}})")));
  CHECK(follower.end() == prompt_end::unknown);
  CHECK(follower.over());
}
