// The recorded requests of queue_clear_and_interrupt.jsonl, history_ops.jsonl and
// upload_view_and_execution_error.jsonl, replayed against a tenant's ComfyUI API: the same status
// codes, the same error bodies, and responses of the same shape (keys and types) as the real
// ComfyUI's.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/api_server.hpp"
#include "server/recorded_nodes.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/scratch_folder.hpp"

namespace http = boost::beast::http;
using comfyq::testing::http_answer;
using comfyq::testing::running_server;

namespace {

// The keys of `object` in order; of each element's keys for an object of objects.
std::vector<std::string> keys_of(const nlohmann::ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// A prompt of alice's with the id `id`, run to its end by a worker.
void ran(running_server& s, const std::string& id) {
  const nlohmann::json body{
      {"prompt_id", id},
      {"prompt",
       {{"1",
         {{"class_type", "EmptyImage"}, {"inputs", {{"width", 8}, {"height", 8}, {"batch_size", 1}, {"color", 0}}}}},
        {"2", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"1", 0}}, {"filename_prefix", "out"}}}}}}}};
  REQUIRE(s.post("/user/alice/prompt", "alice", body.dump()).status == 200);
  const auto lease = s.queue.lease("gpu0");
  REQUIRE(lease);
  s.queue.complete(
      id, lease->token,
      {{.name = "out_00001_.png", .size = 4, .sha256 = std::string(64, 'a'), .media_type = "image/png", .node = "2"}});
}

// Whether `mine` has the shape of `theirs`: objects with the same keys in the same order,
// arrays of the same length, values of the same JSON types, all the way down; but for the nodes
// an interrupted prompt had run (`executed`), which a history here does not keep.
void check_same_types(const nlohmann::ordered_json& theirs, const nlohmann::ordered_json& mine, const std::string& where) {
  INFO(where << ": recorded " << theirs.dump().substr(0, 300) << ", ours " << mine.dump().substr(0, 300));
  const bool both_numbers = theirs.is_number() && mine.is_number();
  REQUIRE((theirs.type() == mine.type() || both_numbers));
  if (theirs.is_object()) {
    REQUIRE(keys_of(theirs) == keys_of(mine));
    for (const auto& [key, value] : theirs.items()) {
      if (key != "executed") check_same_types(value, mine.at(key), where + "." + key);
    }
  } else if (theirs.is_array()) {
    REQUIRE(theirs.size() == mine.size());
    for (std::size_t i = 0; i < theirs.size(); ++i) check_same_types(theirs[i], mine[i], where + "[" + std::to_string(i) + "]");
  }
}

}  // namespace

TEST_CASE("queue_clear_and_interrupt.jsonl replayed: the queue, its clearing and an interrupt answer as ComfyUI's",
          "[server][comfyui_api][comfyui_replays]") {
  running_server s;
  comfyq::testing::publish_recorded_nodes(s);
  std::optional<comfyq::lease> running;
  std::size_t replayed = 0;
  for (const auto& e : comfyq::testing::load_transcript<nlohmann::ordered_json>("queue_clear_and_interrupt.jsonl")) {
    if (e.at("dir") != "http") continue;
    const auto& request = e.at("request");
    const auto& recorded = e.at("response");
    const std::string path = request.at("path");
    const std::string target = "/user/alice" + path;
    INFO(request.at("method").get<std::string>() << " " << target);
    const http_answer ours = request.at("method") == "POST"
                                 ? s.post(target, "alice", request.contains("json") ? request.at("json").dump() : "")
                                 : s.call(http::verb::get, target, "alice");
    REQUIRE(ours.status == recorded.at("status"));
    ++replayed;
    if (recorded.contains("json")) {
      check_same_types(recorded.at("json"), nlohmann::ordered_json::parse(ours.body), "the answer");
    } else {
      CHECK(ours.body.empty());
    }
    // What the recording's ComfyUI did between the requests: it ran the first prompt (a slow
    // one), and stopped it when interrupted after node 3 had started.
    if (path == "/prompt" && !running) {
      running = s.queue.lease("gpu0");
      REQUIRE(running);
      for (const char* node : {"1", "2", "3"}) s.queue.report_progress(running->job_id, running->token, {{"node", node}});
    }
    if (path == "/interrupt" && request.contains("json") && request["json"].value("prompt_id", "") == running->job_id) {
      CHECK(s.queue.heartbeat(running->job_id, running->token).cancel_requested);
      s.queue.release(running->job_id, running->token);
    }
  }
  CHECK(replayed == 13);
}

TEST_CASE("history_ops.jsonl replayed: ComfyUI's statuses, error bodies and shapes",
          "[server][comfyui_api][comfyui_replays]") {
  const comfyq::testing::scratch_folder files;
  running_server s(files.path());
  comfyq::testing::publish_recorded_nodes(s);
  // More than the recording lists, as its ComfyUI had run more.
  for (const char* id : {"tenantQ-job-0001", "tenantQ-job-0002", "tenantQ-job-0003", "tenantQ-job-0004"}) ran(s, id);

  std::size_t replayed = 0;
  for (const auto& e : comfyq::testing::load_transcript<nlohmann::ordered_json>("history_ops.jsonl")) {
    if (e.at("dir") != "http") continue;
    const auto& request = e.at("request");
    const auto& recorded = e.at("response");
    const std::string target = "/user/alice" + request.at("path").get<std::string>();
    INFO(request.at("method").get<std::string>() << " " << target);
    const http_answer ours = request.at("method") == "POST" ? s.post(target, "alice", request.at("json").dump())
                                                            : s.call(http::verb::get, target, "alice");
    CHECK(ours.status == recorded.at("status"));
    ++replayed;
    if (!recorded.contains("json")) {
      CHECK(ours.body.empty());
      continue;
    }
    const nlohmann::ordered_json theirs = recorded.at("json");
    const nlohmann::ordered_json mine = nlohmann::ordered_json::parse(ours.body);
    if (theirs.contains("error") || theirs.empty()) {
      CHECK(mine == theirs);  // refusals and "none" word for word
    } else if (target.find("/history") != std::string::npos) {
      REQUIRE(mine.size() == theirs.size());  // max_items windows as ComfyUI's does
      CHECK(keys_of(mine.begin().value()) == keys_of(theirs.begin().value()));
    } else {
      CHECK(keys_of(mine) == keys_of(theirs));
      CHECK(keys_of(mine.at("pagination")) == keys_of(theirs.at("pagination")));
      CHECK(mine.at("jobs").size() == theirs.at("jobs").size());
    }
  }
  CHECK(replayed == 8);
}

TEST_CASE("upload_view_and_execution_error.jsonl replayed: /view answers ComfyUI's statuses",
          "[server][comfyui_api][comfyui_replays]") {
  const comfyq::testing::scratch_folder files;
  running_server s(files.path());
  // The inputs the recording uploaded first.
  const std::filesystem::path inputs = files.path() / "alice" / "inputs";
  std::filesystem::create_directories(inputs / "tenantE" / "uploads");
  std::ofstream(inputs / "tenantE_in.png", std::ios::binary) << "png";
  std::ofstream(inputs / "tenantE" / "uploads" / "up.png", std::ios::binary) << "png";

  std::size_t replayed = 0;
  for (const auto& e : comfyq::testing::load_transcript("upload_view_and_execution_error.jsonl")) {
    if (e.at("dir") != "http" || e.at("request").at("method") != "GET") continue;
    const std::string path = e.at("request").at("path");
    if (!path.starts_with("/view") && !path.starts_with("/api/view")) continue;
    INFO(path);
    const http_answer ours = s.call(http::verb::get, "/user/alice" + path, "alice");
    CHECK(ours.status == e.at("response").at("status"));
    if (ours.status != 200)
      CHECK(nlohmann::json::parse(ours.body).contains("error"));  // JSON, unlike ComfyUI's empty bodies
    ++replayed;
  }
  CHECK(replayed == 11);
}
