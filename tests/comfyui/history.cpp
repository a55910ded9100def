// Reading a prompt's record from ComfyUI's /history/{id} answers as recorded: found or not,
// how it ended, and the files its outputs reported.
#include <catch2/catch.hpp>

#include <string>

#include "comfyq/comfyui/history.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/expect_error.hpp"

using comfyq::artifact;
using comfyq::comfyui::prompt_end;
using comfyq::comfyui::prompt_record;
using comfyq::comfyui::read_history;

namespace {

// The answer to the first GET /history/<prompt_id> of a transcript.
nlohmann::json history_answer(const char* transcript, const std::string& prompt_id) {
  const auto exchanges =
      comfyq::testing::http_exchanges(comfyq::testing::load_transcript(transcript), "/history/" + prompt_id);
  REQUIRE_FALSE(exchanges.empty());
  return exchanges.front()["response"]["json"];
}

}  // namespace

TEST_CASE("a succeeded prompt's record lists its output files", "[comfyui][history]") {
  const std::string id = "8fbfb7df-1e13-4917-9ab3-c25823098c6f";
  const prompt_record r = read_history(history_answer("job_saveimage_ws_legacy.jsonl", id), id);
  CHECK(r.found);
  CHECK(r.end == prompt_end::succeeded);
  CHECK(r.error.empty());
  CHECK(r.outputs == std::vector<artifact>{{"out_00001_.png", "tenantA/job123", "output", "3"}});
}

TEST_CASE("a failed prompt's record says which node raised what", "[comfyui][history]") {
  const std::string id = "5fd96d0d-e0e8-4249-97f5-556719047c65";
  const prompt_record r = read_history(history_answer("upload_view_and_execution_error.jsonl", id), id);
  CHECK(r.found);
  CHECK(r.end == prompt_end::failed);
  CHECK_THAT(r.error, Catch::Matchers::StartsWith("node 1 (LoadImage) raised PIL.UnidentifiedImageError: "));
  CHECK(r.error_details["node_type"] == "LoadImage");
  CHECK(r.outputs.empty());
}

TEST_CASE("an interrupted prompt's record says so", "[comfyui][history]") {
  const prompt_record r = read_history(history_answer("queue_clear_and_interrupt.jsonl", "q2-blocker"), "q2-blocker");
  CHECK(r.found);
  CHECK(r.end == prompt_end::interrupted);
  CHECK(r.error == "interrupted at node 3");
}

TEST_CASE("a prompt ComfyUI does not know has no record", "[comfyui][history]") {
  const prompt_record r = read_history(history_answer("history_ops.jsonl", "does-not-exist"), "does-not-exist");
  CHECK_FALSE(r.found);
  CHECK(r.end == prompt_end::running);
  // The whole history (GET /history?max_items=2) names other prompts only.
  const auto listing = comfyq::testing::http_exchanges(comfyq::testing::load_transcript("history_ops.jsonl"),
                                                       "/history?max_items=2");
  CHECK_FALSE(read_history(listing.front()["response"]["json"], "does-not-exist").found);
  CHECK(read_history(listing.front()["response"]["json"], "5fd96d0d-e0e8-4249-97f5-556719047c65").found);
}

TEST_CASE("an entry without an outcome message is read from status_str", "[comfyui][history]") {
  const auto entry = [](const char* status_str) {
    return nlohmann::json{{"j1", {{"outputs", nlohmann::json::object()},
                                  {"status", {{"status_str", status_str}, {"completed", true}, {"messages", nlohmann::json::array()}}}}}};
  };
  CHECK(read_history(entry("success"), "j1").end == prompt_end::succeeded);
  const prompt_record failed = read_history(entry("error"), "j1");
  CHECK(failed.end == prompt_end::failed);
  CHECK(failed.error == "ComfyUI recorded the prompt as failed without saying why");
}

TEST_CASE("a malformed history answer is a protocol error naming the part", "[comfyui][history]") {
  using comfyq::comfyui_protocol_error;
  using comfyq::test::expect_error;
  const auto field_of = [](const nlohmann::json& answer) {
    return expect_error<comfyui_protocol_error>([&] { read_history(answer, "j1"); }).field();
  };
  CHECK(field_of(nlohmann::json::array()) == "history");
  CHECK(field_of({{"j1", "done"}}) == "history.j1");
  CHECK(field_of({{"j1", {{"status", {{"messages", "none"}}}}}}) == "history.j1.status");
  CHECK(field_of({{"j1", {{"status", {{"messages", {{"execution_success"}}}}}}}}) == "history.j1.status.messages");
  CHECK_THROWS_AS(read_history({{"j1", {{"outputs", "none"}}}}, "j1"), comfyq::invalid_input);
}
