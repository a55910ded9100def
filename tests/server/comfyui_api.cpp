// ComfyUI's own API per tenant, at /user/<name>/ and /user/<name>/api/: POST /prompt validates
// as ComfyUI does (the refusals of post_prompt_errors.jsonl, replayed) against the nodes the
// workers published, and queues the prompt as the tenant's job; GET /prompt counts the tenant's
// jobs; GET /object_info serves the workers' nodes. Another tenant's address is refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/python_text.hpp"
#include "server/api_server.hpp"
#include "server/recorded_nodes.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/scratch_folder.hpp"

namespace http = boost::beast::http;
using comfyq::testing::http_answer;
using comfyq::testing::publish_recorded_nodes;
using comfyq::testing::refusal;
using comfyq::testing::running_server;
using ordered = nlohmann::ordered_json;

namespace {


const ordered saveimage_graph = ordered::parse(R"({
  "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
  "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "out"}}})");

}  // namespace

TEST_CASE("a tenant's prompt is queued as its job, at both addresses, and counted by GET /prompt",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  for (const std::string base : {"/user/alice/", "/user/alice/api/"}) {
    INFO(base);
    // Some clients send JSON as text/plain.
    const http_answer queued = s.post(base + "prompt", "alice", ordered{{"prompt", saveimage_graph}}.dump(), "text/plain");
    REQUIRE(queued.status == 200);
    CHECK(queued.headers[http::field::content_type] == "application/json; charset=utf-8");
    const nlohmann::json answer = queued.json();
    CHECK(answer.at("node_errors") == nlohmann::json::object());
    CHECK(answer.at("number").is_number_integer());
    const std::optional<comfyq::job> job = s.queue.find(answer.at("prompt_id").get<std::string>());
    REQUIRE(job);
    CHECK(job->tenant == "alice");
    CHECK(job->seq == answer.at("number"));
    CHECK(ordered::parse(job->workflow) == saveimage_graph);
  }
  // A checkpoint the recorded ComfyUI lists none of: taken, for the worker's ComfyUI to judge.
  std::ifstream example(COMFYQ_EXAMPLE_WORKFLOWS "/txt2img.json");
  const ordered txt2img = ordered::parse(example);
  CHECK(s.post("/user/alice/prompt", "alice", ordered{{"prompt", txt2img}}.dump()).status == 200);
  const http_answer count = s.call(http::verb::get, "/user/alice/prompt", "alice");
  CHECK(count.body == R"({"exec_info": {"queue_remaining": 3}})");
  CHECK(s.call(http::verb::get, "/user/bob/api/prompt", "bob").json().at("exec_info").at("queue_remaining") == 0);
}

TEST_CASE("ComfyUI's refusals of bad prompts come back as ComfyUI gives them, and queue nothing",
          "[server][comfyui_api]") {
  const comfyq::testing::scratch_folder files;  // alice's inputs: none, so LoadImage's file is missing
  running_server s(files.path());
  publish_recorded_nodes(s);
  for (const ordered& event : comfyq::testing::load_transcript<ordered>("post_prompt_errors.jsonl")) {
    if (event.value("dir", "") != "http") continue;
    const ordered& request = event.at("request");
    const ordered& recorded = event.at("response");
    INFO(request.value("label", ""));
    const std::string body = request.contains("json") ? request.at("json").dump() : request.value("body", "");
    const http_answer answer = s.post("/user/alice/api" + request.at("path").get<std::string>(), "alice", body);
    if (recorded.at("status") == 500) {
      // ComfyUI answers a body that is not JSON with a text 500; this API with a JSON 400.
      CHECK(answer.status == 400);
      CHECK(answer.json().at("error").at("type") == "invalid_json");
      continue;
    }
    CHECK(answer.status == recorded.at("status"));
    const ordered got = ordered::parse(answer.body);
    CHECK(got.at("node_errors") == recorded.at("json").at("node_errors"));
    if (answer.status == 400) CHECK(got.at("error") == recorded.at("json").at("error"));
  }
  // Only the partly accepted prompt was queued, without the output that failed and what only it needs.
  const std::vector<comfyq::job> jobs = s.queue.list_jobs({.tenant = "alice"}).jobs;
  REQUIRE(jobs.size() == 1);
  const ordered graph = ordered::parse(jobs.front().workflow);
  CHECK(graph.size() == 3);
  for (const char* id : {"1", "2", "3"}) CHECK(graph.contains(id));
}

TEST_CASE("a client's prompt_id names the job when it is free and is refused when it is taken",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const ordered first{{"prompt", saveimage_graph}, {"prompt_id", "my-job-1"}};
  const http_answer made = s.post("/user/alice/prompt", "alice", first.dump());
  REQUIRE(made.status == 200);
  CHECK(made.json().at("prompt_id") == "my-job-1");
  // ComfyUI takes the same id twice and loses one job's history; this API refuses it.
  const http_answer again = s.post("/user/alice/prompt", "alice", first.dump());
  CHECK(again.status == 400);
  CHECK(again.json().at("error").at("type") == "prompt_id_taken");
  const http_answer bad = s.post("/user/alice/prompt", "alice", ordered{{"prompt", saveimage_graph}, {"prompt_id", "a/b"}}.dump());
  CHECK(bad.status == 400);
  CHECK(bad.json().at("error").at("type") == "invalid_prompt_id");
  CHECK(s.queue.list_jobs({.tenant = "alice"}).jobs.size() == 1);
}

TEST_CASE("front and number move an admin's prompt into the priority lane and a participant's nowhere",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const std::string participant =
      s.post("/user/alice/prompt", "alice", ordered{{"prompt", saveimage_graph}, {"front", true}}.dump()).json().at("prompt_id");
  CHECK_FALSE(s.queue.find(participant)->priority);
  const std::string demo =
      s.post("/user/admin/prompt", "admin", ordered{{"prompt", saveimage_graph}, {"number", -1}}.dump()).json().at("prompt_id");
  CHECK(s.queue.find(demo)->priority);
  CHECK(s.queue.find(demo)->tenant == "admin");
}

TEST_CASE("a participant reaches only its own ComfyUI address", "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  for (const std::string target : {"/user/alice/prompt", "/user/alice/api/object_info", "/user/alice/object_info/SaveImage"}) {
    INFO(target);
    CHECK(refusal(s.call(http::verb::get, target, "bob"), 403).at("message") == "this is alice's ComfyUI; yours is /user/bob/");
  }
  CHECK(s.post("/user/alice/prompt", "bob", ordered{{"prompt", saveimage_graph}}.dump()).status == 403);
  CHECK(s.queue.list_jobs({}).jobs.empty());
  refusal(s.call(http::verb::get, "/user/alice/prompt", ""), 401);
}

TEST_CASE("object_info serves the nodes the workers published, {} for a class none has", "[server][comfyui_api]") {
  running_server s;
  CHECK(s.call(http::verb::get, "/user/alice/object_info", "alice").body == "{}");  // no worker yet
  publish_recorded_nodes(s);
  const ordered all = ordered::parse(s.call(http::verb::get, "/user/alice/api/object_info", "alice").body);
  CHECK(all == ordered::parse(comfyq::testing::recording_bytes("GET_object_info_full.json")));
  const ordered one = ordered::parse(s.call(http::verb::get, "/user/alice/object_info/SaveImage", "alice").body);
  REQUIRE(one.size() == 1);
  CHECK(one.at("SaveImage") == all.at("SaveImage"));
  const http_answer none = s.call(http::verb::get, "/user/alice/object_info/NoSuchNode", "alice");
  CHECK(none.status == 200);
  CHECK(none.body == "{}");
}

namespace {

std::string queued_prompt(running_server& s, const std::string& tenant) {
  const http_answer made = s.post("/user/" + tenant + "/prompt", tenant, ordered{{"prompt", saveimage_graph}}.dump());
  REQUIRE(made.status == 200);
  return made.json().at("prompt_id");
}

std::vector<std::string> ids_in(const ordered& items) {
  std::vector<std::string> ids;
  for (const ordered& item : items) ids.push_back(item.at(1));
  return ids;
}

}  // namespace

TEST_CASE("GET /queue shows the tenant's running job and its waiting ones in the order they will start",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const std::string a1 = queued_prompt(s, "alice");
  const std::string a2 = queued_prompt(s, "alice");
  const std::string b1 = queued_prompt(s, "bob");
  const std::string a3 = queued_prompt(s, "alice");
  REQUIRE(s.queue.lease("gpu0")->job_id == a1);

  const ordered queue = ordered::parse(s.call(http::verb::get, "/user/alice/api/queue?clientId=abc", "alice").body);
  REQUIRE(queue.at("queue_running").size() == 1);
  const ordered& running = queue.at("queue_running")[0];
  CHECK(running.at(0) == s.queue.find(a1)->seq);
  CHECK(running.at(1) == a1);
  CHECK(running.at(2) == saveimage_graph);
  CHECK(running.at(3).at("create_time").is_number_integer());
  CHECK(running.at(4) == ordered::array({"2"}));  // SaveImage is the output node
  CHECK(ids_in(queue.at("queue_pending")) == std::vector<std::string>{a2, a3});
  CHECK(ids_in(ordered::parse(s.call(http::verb::get, "/user/bob/queue", "bob").body).at("queue_pending")) ==
        std::vector<std::string>{b1});
}

TEST_CASE("POST /queue deletes and clears the tenant's waiting jobs, and /interrupt stops its running one, no one else's",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const std::string a1 = queued_prompt(s, "alice");
  const std::string b1 = queued_prompt(s, "bob");
  const std::string a2 = queued_prompt(s, "alice");
  const std::string a3 = queued_prompt(s, "alice");
  const std::string b2 = queued_prompt(s, "bob");
  REQUIRE(s.queue.lease("gpu0")->job_id == a1);
  REQUIRE(s.queue.lease("gpu1")->job_id == b1);

  const http_answer deleted = s.post("/user/alice/queue", "alice", ordered{{"delete", {a2, b2, "nope"}}}.dump());
  CHECK(deleted.status == 200);
  CHECK(deleted.body.empty());
  CHECK(s.queue.find(a2)->state == comfyq::job_state::cancelled);
  CHECK(s.queue.find(b2)->state == comfyq::job_state::queued);  // bob's: ignored, as an unknown id is

  CHECK(s.post("/user/alice/api/queue", "alice", R"({"clear": true})").status == 200);
  CHECK(s.queue.find(a3)->state == comfyq::job_state::cancelled);
  CHECK(s.queue.find(a1)->state == comfyq::job_state::running);  // clear leaves the running job alone
  CHECK(s.queue.find(b2)->state == comfyq::job_state::queued);

  // A body-less interrupt is the only one some clients have: it stops the caller's own job.
  CHECK(s.post("/user/alice/interrupt", "alice", "").status == 200);
  CHECK(s.queue.find(a1)->cancel_requested);
  CHECK_FALSE(s.queue.find(b1)->cancel_requested);
  CHECK(s.post("/user/bob/interrupt", "bob", ordered{{"prompt_id", "not-bobs"}}.dump()).status == 200);
  CHECK_FALSE(s.queue.find(b1)->cancel_requested);
  CHECK(s.post("/user/bob/interrupt", "bob", ordered{{"prompt_id", b1}}.dump()).status == 200);
  CHECK(s.queue.find(b1)->cancel_requested);
}

TEST_CASE("GET /history shows the tenant's prompts that ran, with their outputs named for /view",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const std::string first = queued_prompt(s, "alice");
  const auto run = s.queue.lease("gpu0");
  REQUIRE(run->job_id == first);
  s.queue.complete(first, run->token,
                   {{.name = "out_00001_.png", .size = 3, .sha256 = std::string(64, 'a'), .media_type = "image/png", .node = "2"}});
  const std::string second = queued_prompt(s, "alice");
  const auto failing = s.queue.lease("gpu0");
  s.queue.fail(second, failing->token, "ComfyUI: out of memory", comfyq::failure::final);
  queued_prompt(s, "alice");  // waits: not in the history
  const std::string bobs = queued_prompt(s, "bob");

  const ordered history = ordered::parse(s.call(http::verb::get, "/user/alice/history", "alice").body);
  REQUIRE(history.size() == 2);
  CHECK(history.begin().key() == first);  // in the order they ended
  const ordered& done = history.at(first);
  CHECK(done.at("prompt").at(1) == first);
  CHECK(done.at("outputs") == ordered::parse(R"({"2": {"images": [{"filename": "out_00001_.png", "subfolder": ")" +
                                             first + R"(", "type": "output"}]}})"));
  CHECK(done.at("status").at("status_str") == "success");
  CHECK(done.at("status").at("completed") == true);
  std::vector<std::string> said;
  for (const ordered& m : done.at("status").at("messages")) said.push_back(m.at(0));
  CHECK(said == std::vector<std::string>{"execution_start", "execution_cached", "execution_success"});
  CHECK(done.at("meta").at("2").at("real_node_id") == "2");
  const ordered& failed = history.at(second);
  CHECK(failed.at("status").at("status_str") == "error");
  CHECK(failed.at("status").at("messages").back().at(1).at("exception_message") == "ComfyUI: out of memory");

  const ordered newest = ordered::parse(s.call(http::verb::get, "/user/alice/api/history?max_items=1", "alice").body);
  REQUIRE(newest.size() == 1);
  CHECK(newest.contains(second));
  const ordered one = ordered::parse(s.call(http::verb::get, "/user/alice/history/" + first, "alice").body);
  CHECK(one.size() == 1);
  CHECK(one.at(first) == done);
  CHECK(s.call(http::verb::get, "/user/alice/history/" + bobs, "alice").body == "{}");
  CHECK(s.call(http::verb::get, "/user/alice/history/unknown-id", "alice").body == "{}");
}

namespace {

// A multipart/form-data body as ComfyUI's clients send an upload.
std::string form(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& file_name,
                 const std::string& bytes) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body += "--b0undary\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  }
  if (!file_name.empty()) {
    body += "--b0undary\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" + file_name +
            "\"\r\nContent-Type: image/png\r\n\r\n" + bytes + "\r\n";
  }
  return body + "--b0undary--\r\n";
}

http_answer upload(running_server& s, const std::string& user, const std::string& body, const std::string& to = "alice") {
  return s.post("/user/" + to + "/upload/image", user, body, "multipart/form-data; boundary=b0undary");
}

}  // namespace

TEST_CASE("uploads land in the tenant's inputs, renamed as ComfyUI renames a clash, and /view serves them",
          "[server][comfyui_api]") {
  const comfyq::testing::scratch_folder files;
  running_server s(files.path());
  CHECK(upload(s, "alice", form({}, "cat.png", "meow")).body == R"({"name": "cat.png", "subfolder": "", "type": "input"})");
  CHECK(upload(s, "alice", form({}, "cat.png", "meow")).json().at("name") == "cat.png");  // the same bytes: kept
  CHECK(upload(s, "alice", form({}, "cat.png", "purr")).json().at("name") == "cat (1).png");
  CHECK(upload(s, "alice", form({{"overwrite", "true"}}, "cat.png", "hiss")).json().at("name") == "cat.png");
  const http_answer in_folder = upload(s, "alice", form({{"subfolder", "pets"}}, "dog.png", "woof"));
  CHECK(in_folder.json() == nlohmann::json{{"name", "dog.png"}, {"subfolder", "pets"}, {"type", "input"}});

  CHECK(s.call(http::verb::get, "/user/alice/view?filename=cat.png&type=input", "alice").body == "hiss");
  CHECK(s.call(http::verb::get, "/user/alice/api/view?filename=cat%20(1).png&type=input", "alice").body == "purr");
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=dog.png&subfolder=pets&type=input&clientId=x", "alice").body ==
        "woof");
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=dog.png%20%5Binput%5D&subfolder=pets", "alice").body == "woof");
  // The JSON API sees the same inputs.
  CHECK(s.call(http::verb::get, "/api/v1/inputs/pets/dog.png", "alice").body == "woof");

  CHECK(refusal(upload(s, "alice", form({}, "", "")), 400).at("field") == "image");
  CHECK(refusal(upload(s, "alice", form({{"subfolder", "../bob"}}, "x.png", "x")), 400).at("field") == "subfolder");
  CHECK(refusal(upload(s, "alice", form({{"type", "output"}}, "x.png", "x")), 400).at("field") == "type");
  CHECK(upload(s, "bob", form({}, "x.png", "x")).status == 403);
  CHECK(refusal(s.call(http::verb::get, "/user/bob/view?filename=cat.png&type=input", "bob"), 404).at("code") == "not_found");
}

TEST_CASE("/view serves the tenant's outputs by the subfolder its history names, with ComfyUI's error statuses",
          "[server][comfyui_api]") {
  const comfyq::testing::scratch_folder files;
  running_server s(files.path());
  publish_recorded_nodes(s);
  const std::string id = queued_prompt(s, "alice");
  const auto run = s.queue.lease("gpu0");
  const std::filesystem::path folder = files.path() / "alice" / "outputs" / id / "1";
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "out_00001_.png", std::ios::binary) << "png!";
  s.queue.complete(id, run->token,
                   {{.name = "out_00001_.png", .size = 4, .sha256 = std::string(64, 'a'), .media_type = "image/png", .node = "2"}});

  const ordered record = ordered::parse(s.call(http::verb::get, "/user/alice/history/" + id, "alice").body)
                             .at(id).at("outputs").at("2").at("images").at(0);
  const std::string target = "/user/alice/view?filename=" + record.at("filename").get<std::string>() +
                             "&subfolder=" + record.at("subfolder").get<std::string>() + "&type=output";
  const http_answer image = s.call(http::verb::get, target, "alice");
  CHECK(image.status == 200);
  CHECK(image.body == "png!");
  CHECK(image.headers[http::field::content_type] == "image/png");

  CHECK(s.call(http::verb::get, "/user/bob/view?filename=out_00001_.png&subfolder=" + id, "bob").status == 404);
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=nope.png&subfolder=" + id, "alice").status == 404);
  CHECK(s.call(http::verb::get, "/user/alice/view", "alice").status == 404);
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=../x.png", "alice").status == 400);
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=x.png&subfolder=../bob", "alice").status == 403);
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=x.png&type=secret", "alice").status == 400);
  CHECK(s.call(http::verb::get, "/user/alice/view?filename=x.png&type=temp", "alice").status == 404);
  const http_answer refused = s.call(http::verb::get, "/user/alice/view?filename=x.png&type=secret", "alice");
  CHECK(refused.json().at("error").at("field") == "type");  // JSON, where ComfyUI sends an empty body
}

TEST_CASE("discovery answers from the workers: models a loader offers, devices, features", "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const ordered folders = ordered::parse(s.call(http::verb::get, "/user/alice/models", "alice").body);
  const std::string recorded = comfyq::testing::recording_bytes("GET_models.http.txt");
  CHECK(folders == ordered::parse(recorded.substr(recorded.find('['))));
  // The recorded ComfyUI has no models; its config files are listed by CheckpointLoader.
  CHECK(s.call(http::verb::get, "/user/alice/api/models/checkpoints", "alice").body == "[]");
  const ordered configs = ordered::parse(s.call(http::verb::get, "/user/alice/models/configs", "alice").body);
  CHECK(configs.size() == 11);
  CHECK(configs.at(0) == "anything_v3.yaml");
  CHECK(refusal(s.call(http::verb::get, "/user/alice/models/nonsense", "alice"), 404).at("field") == "folder");

  s.queue.register_worker({.id = "gpu0", .comfyui = "127.0.0.1:8188", .comfyui_version = "0.8.0",
                           .gpu = "cuda:0 NVIDIA H100 80GB HBM3", .object_info = s.queue.snapshot().workers[0].object_info});
  const ordered stats = ordered::parse(s.call(http::verb::get, "/user/alice/system_stats", "alice").body);
  CHECK(stats.at("system").at("comfyui_version") == "0.8.0");
  REQUIRE(stats.at("devices").size() == 1);
  CHECK(stats.at("devices")[0].at("name") == "cuda:0 NVIDIA H100 80GB HBM3");
  CHECK(stats.at("devices")[0].at("type") == "cuda");

  const ordered features = ordered::parse(s.call(http::verb::get, "/user/alice/features", "alice").body);
  CHECK(features.at("supports_preview_metadata") == true);
  CHECK(features.at("max_upload_size") == 1 << 20);  // the test server's body limit
  CHECK(s.call(http::verb::get, "/user/alice/embeddings", "alice").body == "[]");
  CHECK(s.call(http::verb::get, "/user/alice/api/extensions", "alice").body == "[]");
  // Paths ComfyUI's clients probe that this API does not serve answer JSON.
  const http_answer manager = s.call(http::verb::get, "/user/alice/api/manager/version", "alice");
  CHECK(manager.status == 404);
  CHECK(manager.json().at("error").at("code") == "not_found");
}

TEST_CASE("/api/jobs lists the tenant's waiting, running and ended jobs as ComfyUI does, and one with its workflow",
          "[server][comfyui_api]") {
  running_server s;
  publish_recorded_nodes(s);
  const std::string done = queued_prompt(s, "alice");
  const auto run = s.queue.lease("gpu0");
  s.queue.complete(done, run->token,
                   {{.name = "out_00001_.png", .size = 3, .sha256 = std::string(64, 'a'), .media_type = "image/png", .node = "2"}});
  const std::string running = queued_prompt(s, "alice");
  REQUIRE(s.queue.lease("gpu0")->job_id == running);
  const std::string waiting = queued_prompt(s, "alice");
  const std::string gone = queued_prompt(s, "alice");
  s.queue.cancel(gone);  // cancelled while it waited: not listed, as ComfyUI forgets a deleted prompt
  queued_prompt(s, "bob");

  const ordered all = ordered::parse(s.call(http::verb::get, "/user/alice/api/jobs", "alice").body);
  std::vector<std::string> listed;
  for (const ordered& j : all.at("jobs")) listed.push_back(j.at("id").get<std::string>() + " " + j.at("status").get<std::string>());
  // Newest first by default.
  CHECK(listed == std::vector<std::string>{waiting + " pending", running + " in_progress", done + " completed"});
  CHECK(all.at("pagination") == ordered::parse(R"({"offset": 0, "limit": null, "total": 3, "has_more": false})"));
  CHECK(all.at("jobs").back().at("outputs_count") == 1);
  CHECK(all.at("jobs").back().at("preview_output").at("filename") == "out_00001_.png");

  // Newer frontends send a list of statuses; ComfyUI 0.8.0 refuses one, this API takes it.
  const ordered active =
      ordered::parse(s.call(http::verb::get, "/user/alice/api/jobs?status=in_progress,pending&limit=1&offset=0", "alice").body);
  REQUIRE(active.at("jobs").size() == 1);
  CHECK(active.at("pagination").at("has_more") == true);
  const http_answer bad = s.call(http::verb::get, "/user/alice/api/jobs?sort_by=size", "alice");
  CHECK(bad.status == 400);
  CHECK(bad.json().at("error") == "Invalid sort_by value: size. Valid values: created_at, execution_duration");

  const ordered one = ordered::parse(s.call(http::verb::get, "/user/alice/api/jobs/" + done, "alice").body);
  CHECK(one.at("status") == "completed");
  CHECK(one.at("workflow").at("prompt") == saveimage_graph);
  CHECK(one.at("outputs").contains("2"));
  CHECK(s.call(http::verb::get, "/user/bob/api/jobs/" + done, "bob").status == 404);
  CHECK(s.call(http::verb::get, "/user/alice/api/jobs/" + gone, "alice").json().at("error") == "Job not found");
}

TEST_CASE("a POST from a page of another site is refused, as ComfyUI refuses it, and changes nothing",
          "[server][comfyui_api]") {
  running_server s;
  const std::string body = ordered{{"prompt", saveimage_graph}}.dump();
  const auto post_from = [&](const std::string& origin, const std::string& target) {
    return comfyq::testing::http_call(s.web.port(), http::verb::post, target,
                                      {{"X-Test-User", "alice"}, {"Origin", origin}, {"Content-Type", "application/json"}},
                                      body);
  };
  for (const std::string target : {"/user/alice/prompt", "/user/alice/api/queue", "/user/alice/interrupt",
                                   "/user/alice/upload/image"}) {
    INFO(target);
    const http_answer refused = post_from("https://elsewhere.example", target);
    CHECK(refused.status == 403);
    CHECK(refused.json().at("error").at("message") ==
          "this request comes from a page of https://elsewhere.example, not of this site (127.0.0.1); a proxy in front "
          "must pass Host on as the client sent it");
  }
  CHECK(s.queue.list_jobs({}).jobs.empty());
  // The site's own page (Origin and Host the same) and a client that is no page (no Origin) pass.
  CHECK(post_from("http://127.0.0.1", "/user/alice/prompt").status == 200);
  CHECK(s.post("/user/alice/prompt", "alice", body).status == 200);
}
