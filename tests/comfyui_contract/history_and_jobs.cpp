// GET/POST /history and GET /api/jobs as recorded in history_ops.jsonl. The recording ran
// after the other transcripts on the same server; the jobs its answers show are run here
// first, from the recorded graphs and with the recorded prompt ids.

#include <catch2/catch.hpp>

#include <fstream>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "comfyui_standin/png.hpp"

namespace contract = comfyq::testing::contract;

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

/// Runs the graph of `transcript`'s `index`-th POST /prompt as job `prompt_id`.
void run_recorded_job(unsigned short port, const char* transcript, std::size_t index, const std::string& prompt_id) {
  contract::json body = contract::posted_prompt(contract::load_transcript(transcript), index);
  body["prompt_id"] = prompt_id;
  REQUIRE(comfyq::testing::http_post_json(port, "/prompt", body).status == 200);
  REQUIRE(!contract::wait_for_history(port, prompt_id).is_null());
}

}  // namespace

TEST_CASE("history and jobs listings behave as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  const auto port = fixture.standin.port();
  const std::string input = fixture.standin.folders().input;
  write_file(input + "/corrupt.png", "this is not an image");
  write_file(input + "/tenantE/uploads/up.png", comfyq::testing::standin::encode_png({3, 3}, {}));

  run_recorded_job(port, "job_saveimage_ws_legacy.jsonl", 0, "8fbfb7df-1e13-4917-9ab3-c25823098c6f");
  run_recorded_job(port, "job_saveimage_resubmit_cached.jsonl", 0, "d1d15c7b-86a4-4a69-bd58-e98ba886443f");
  run_recorded_job(port, "queue_priority_delete_clear.jsonl", 1, "tenantQ-job-0002");
  run_recorded_job(port, "ws_same_clientid_twice.jsonl", 0, "00c6ab08-92ac-460d-9930-99ce7ce5716d");
  run_recorded_job(port, "upload_view_and_execution_error.jsonl", 0, "5fd96d0d-e0e8-4249-97f5-556719047c65");
  run_recorded_job(port, "upload_view_and_execution_error.jsonl", 1, "9fb5409a-1194-402a-9787-9f55e36f255f");

  contract::replay_options options;
  options.rules_for = [](const contract::json& event) {
    // The seeded entries are the recorded jobs, but their numbers and timings are ours.
    const std::string path = event.at("request").at("path").get<std::string>();
    return contract::comparison{.shapes_only = path.starts_with("/history?") || path == "/api/jobs?limit=3"};
  };
  contract::check_replay("history_ops.jsonl", fixture.standin, std::move(options));
}
