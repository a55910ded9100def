// Two tenants on ComfyUI's API per tenant: every route at one's address refuses the other, and at
// its own address the other's ids, files and sockets reach nothing. POST /history removes a
// tenant's own prompts from its history, and nobody else's.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_server.hpp"
#include "server/recorded_nodes.hpp"
#include "server/test_websocket.hpp"
#include "support/scratch_folder.hpp"

namespace http = boost::beast::http;
using comfyq::testing::http_answer;
using comfyq::testing::running_server;
using namespace std::chrono_literals;

namespace {

const std::string graph = R"({"prompt": {
  "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
  "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "out"}}}})";

std::string queue_prompt(running_server& s, const std::string& user) {
  const http_answer queued = s.post("/user/" + user + "/prompt", user, graph);
  REQUIRE(queued.status == 200);
  return queued.json().at("prompt_id");
}

// A prompt of `user`'s that ran and saved out_00001_.png.
std::string finished_prompt(running_server& s, const std::filesystem::path& files, const std::string& user) {
  const std::string id = queue_prompt(s, user);
  const auto lease = s.queue.lease("gpu0");
  REQUIRE(lease);
  REQUIRE(lease->job_id == id);
  const std::filesystem::path folder = files / user / "outputs" / id / "1";
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "out_00001_.png", std::ios::binary) << "png!";
  s.queue.complete(
      id, lease->token,
      {{.name = "out_00001_.png", .size = 4, .sha256 = std::string(64, 'a'), .media_type = "image/png", .node = "2"}});
  return id;
}

}  // namespace

TEST_CASE("every route of a tenant's ComfyUI refuses another tenant", "[server][comfyui_api][comfyui_isolation]") {
  running_server s;
  std::size_t tried = 0;
  for (const auto& route : s.web.routes()) {
    if (!route.pattern.starts_with("/user/{name}/")) continue;
    std::string target = route.pattern;
    const auto replace = [&](const std::string& param, const std::string& value) {
      for (std::size_t at = target.find(param); at != std::string::npos; at = target.find(param)) {
        target.replace(at, param.size(), value);
      }
    };
    replace("{name}", "alice");
    replace("{file...}", "index.html");
    replace("{id}", "j1");
    replace("{class}", "SaveImage");
    replace("{folder}", "checkpoints");
    replace("{file}", "workflows%2Fmine.json");
    replace("{dest}", "workflows%2Ftheirs.json");
    INFO(http::to_string(route.method) << " " << target);
    REQUIRE(target.find('{') == std::string::npos);
    const http_answer refused = s.call(route.method, target, "bob", route.method == http::verb::post ? "{}" : "");
    CHECK(refused.status == 403);
    CHECK(refused.json().at("error").at("message") == "this is alice's ComfyUI; yours is /user/bob/");
    ++tried;
  }
  CHECK(tried > 50);
  CHECK(s.queue.list_jobs({}).jobs.empty());
}

TEST_CASE("at its own address, a tenant reaches none of another's prompts, files, settings or socket messages",
          "[server][comfyui_api][comfyui_isolation]") {
  const comfyq::testing::scratch_folder files;
  running_server s(files.path());
  comfyq::testing::publish_recorded_nodes(s);
  comfyq::testing::test_websocket bobs_socket(s.web.port(), "bob", "/user/bob/ws?clientId=alice-1");
  REQUIRE(bobs_socket.next());  // its greeting

  const std::string done = finished_prompt(s, files.path(), "alice");
  const std::string waiting = queue_prompt(s, "alice");
  REQUIRE(s.post("/user/alice/api/userdata/workflows%2Fmine.json", "alice", "{}").status == 200);
  REQUIRE(s.post("/user/alice/api/settings", "alice", R"({"Comfy.Locale": "fr"})").status == 200);
  std::filesystem::create_directories(files.path() / "alice" / "inputs");
  std::ofstream(files.path() / "alice" / "inputs" / "cat.png", std::ios::binary) << "meow";

  const std::string bob = "/user/bob/api/";
  CHECK(s.call(http::verb::get, bob + "history/" + done, "bob").body == "{}");
  CHECK(s.call(http::verb::get, bob + "history", "bob").body == "{}");
  CHECK(s.call(http::verb::get, bob + "jobs/" + done, "bob").status == 404);
  CHECK(s.call(http::verb::get, bob + "jobs", "bob").json().at("jobs").empty());
  CHECK(s.call(http::verb::get, bob + "queue", "bob").body == R"({"queue_running": [], "queue_pending": []})");
  CHECK(s.call(http::verb::get, bob + "prompt", "bob").json().at("exec_info").at("queue_remaining") == 0);
  CHECK(
      s.call(http::verb::get, bob + "view?filename=out_00001_.png&subfolder=" + done + "&type=output", "bob").status ==
      404);
  CHECK(s.call(http::verb::get, bob + "view?filename=cat.png&type=input", "bob").status == 404);
  CHECK(s.call(http::verb::get, bob + "userdata/workflows%2Fmine.json", "bob").status == 404);
  CHECK(s.call(http::verb::get, bob + "settings", "bob").body == "{}");
  // Changes aimed at alice's prompts change nothing.
  REQUIRE(s.post(bob + "queue", "bob", R"({"delete": [")" + waiting + R"("]})").status == 200);
  REQUIRE(s.post(bob + "queue", "bob", R"({"clear": true})").status == 200);
  REQUIRE(s.post(bob + "interrupt", "bob", R"({"prompt_id": ")" + waiting + R"("})").status == 200);
  REQUIRE(s.post(bob + "history", "bob", R"({"delete": [")" + done + R"("], "clear": true})").status == 200);
  CHECK(s.queue.find(waiting)->state == comfyq::job_state::queued);
  CHECK(s.call(http::verb::get, "/user/alice/api/history/" + done, "alice").json().contains(done));
  CHECK(s.post(bob + "prompt", "bob", R"({"prompt_id": ")" + done + R"(", )" + graph.substr(1)).status == 400);
  CHECK(s.queue.find(done)->tenant == "alice");
  // bob's socket heard nothing of it, whatever its clientId.
  CHECK_FALSE(bobs_socket.next(300ms));
}

TEST_CASE("POST /history removes a tenant's own prompts from its history and /api/jobs, and the jobs stay",
          "[server][comfyui_api][comfyui_isolation]") {
  const comfyq::testing::scratch_folder files;
  running_server s(files.path());
  comfyq::testing::publish_recorded_nodes(s);
  const std::string first = finished_prompt(s, files.path(), "alice");
  const std::string second = finished_prompt(s, files.path(), "alice");
  REQUIRE(s.post("/user/alice/history", "alice", R"({"delete": [")" + first + R"("]})").status == 200);
  nlohmann::json history = s.call(http::verb::get, "/user/alice/history", "alice").json();
  CHECK_FALSE(history.contains(first));
  CHECK(history.contains(second));
  CHECK(s.call(http::verb::get, "/user/alice/history/" + first, "alice").body == "{}");
  CHECK(s.call(http::verb::get, "/user/alice/api/jobs/" + first, "alice").status == 404);
  CHECK(s.queue.find(first)->state == comfyq::job_state::succeeded);  // comfyq's own API still has it
  CHECK(s.call(http::verb::get, "/api/v1/jobs/" + first, "alice").status == 200);

  REQUIRE(s.post("/user/alice/api/history", "alice", R"({"clear": true})").status == 200);
  CHECK(s.call(http::verb::get, "/user/alice/history", "alice").body == "{}");
  const std::string third = finished_prompt(s, files.path(), "alice");  // a later prompt shows again
  history = s.call(http::verb::get, "/user/alice/history", "alice").json();
  CHECK(history.size() == 1);
  CHECK(history.contains(third));
  // Kept for the next server on the same files.
  CHECK(nlohmann::json::parse(std::ifstream(files.path() / "alice" / "comfyui-history.json"))
            .contains("cleared_through_ms"));
}
