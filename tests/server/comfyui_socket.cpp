// A tenant's ComfyUI WebSocket (/user/<name>/ws, /user/<name>/api/ws, and /ws at the root for
// the caller): the messages of the tenant's jobs in ComfyUI's recorded order and shapes,
// previews as negotiated, the current state for a socket that joins mid-job, and nothing of
// another tenant's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/binary_frames.hpp"
#include "comfyq/comfyui/detail/base64.hpp"
#include "server/api_server.hpp"
#include "server/recorded_nodes.hpp"
#include "server/test_websocket.hpp"
#include "support/comfyui_recordings.hpp"

namespace http = boost::beast::http;
using comfyq::testing::publish_recorded_nodes;
using comfyq::testing::running_server;
using comfyq::testing::test_websocket;
using ordered = nlohmann::ordered_json;
using namespace std::chrono_literals;

namespace {

const ordered three_node_graph = ordered::parse(R"({
  "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
  "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
  "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "out"}}})");

// Queues `graph` through alice's ComfyUI API; the new prompt's id.
std::string prompt(running_server& s, const std::string& user, const ordered& graph = three_node_graph) {
  const comfyq::testing::http_answer queued =
      s.call(http::verb::post, "/user/" + user + "/prompt", user, ordered{{"prompt", graph}}.dump());
  REQUIRE(queued.status == 200);
  return queued.json().at("prompt_id").get<std::string>();
}

std::vector<std::string> types_of(const std::vector<test_websocket::message>& messages) {
  std::vector<std::string> types;
  for (const auto& m : messages) types.push_back(m.type());
  return types;
}

// The socket's greeting: status with its sid.
ordered greeting_of(test_websocket& socket) {
  const auto first = socket.next();
  REQUIRE(first);
  REQUIRE(first->type() == "status");
  return first->json().at("data");
}

// Whether `ours` has the shape of `recorded`: the same keys in the same order, the same values,
// but for what names this run (ids, times, the output's folder and kind).
void check_same_shape(const ordered& recorded, const ordered& ours, const std::string& where) {
  INFO(where << ": recorded " << recorded.dump() << ", ours " << ours.dump());
  REQUIRE(recorded.type() == ours.type());
  if (recorded.is_object()) {
    std::vector<std::string> recorded_keys, our_keys;
    for (const auto& [key, value] : recorded.items()) recorded_keys.push_back(key);
    for (const auto& [key, value] : ours.items()) our_keys.push_back(key);
    REQUIRE(recorded_keys == our_keys);
    for (const auto& [key, value] : recorded.items()) {
      // What names this run, and where an output is kept: every output is comfyq's to keep,
      // where ComfyUI keeps a preview as a temporary file.
      if (key == "prompt_id" || key == "timestamp" || key == "subfolder") continue;
      if (key == "type" && where.find(".output") != std::string::npos) continue;
      check_same_shape(value, ours.at(key), where + "." + key);
    }
  } else if (recorded.is_array()) {
    REQUIRE(recorded.size() == ours.size());
    for (std::size_t i = 0; i < recorded.size(); ++i)
      check_same_shape(recorded[i], ours[i], where + "[" + std::to_string(i) + "]");
  } else {
    CHECK(recorded == ours);
  }
}

}  // namespace

TEST_CASE(
    "a tenant's socket gets ComfyUI's messages for its job in the recorded order and shapes, and "
    "another tenant's socket none of them",
    "[server][comfyui_api][comfyui_socket]") {
  // A legacy client of a SaveImage job, and a client that negotiated preview metadata of a
  // PreviewImage job.
  for (const bool flagged : {false, true}) {
    const std::string name = flagged ? "job_previewimage_ws_featureflags.jsonl" : "job_saveimage_ws_legacy.jsonl";
    INFO(name);
    running_server s;
    publish_recorded_nodes(s);
    const std::vector<ordered> recording = comfyq::testing::load_transcript<ordered>(name);
    test_websocket alice(s.web.port(), "alice", "/user/alice/ws?clientId=tenantA-client-1");
    if (flagged) alice.send(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true}})");
    test_websocket bob(s.web.port(), "bob", "/ws?clientId=bob-1");  // the root socket is the caller's
    const ordered hello = greeting_of(alice);
    CHECK(hello == ordered::parse(R"({"status": {"exec_info": {"queue_remaining": 0}}, "sid": "tenantA-client-1"})"));
    if (flagged) CHECK(alice.next()->type() == "feature_flags");
    CHECK(greeting_of(bob).at("sid") == "bob-1");

    // The recorded job: the same graph, run node by node by a worker, its image kept by node 3.
    ordered graph;
    std::vector<ordered> recorded;  // what ComfyUI sent the socket after the prompt
    std::string image;
    for (const ordered& e : recording) {
      if (e.at("dir") == "http" && e.at("request").at("method") == "POST") graph = e["request"]["json"]["prompt"];
      if (e.at("dir") != "server->ws" || graph.is_null()) continue;
      recorded.push_back(e.at("data"));
      if (e["data"]["type"] == "executed") image = e["data"]["data"]["output"]["images"][0]["filename"];
    }
    const std::string id = prompt(s, "alice", graph);
    const auto lease = s.queue.lease("gpu0");
    REQUIRE(lease);
    for (const char* node : {"1", "2", "3"}) s.queue.report_progress(id, lease->token, {{"node", node}});
    s.queue.complete(
        id, lease->token,
        {{.name = image, .size = 1, .sha256 = std::string(64, '0'), .media_type = "image/png", .node = "3"}});

    std::vector<test_websocket::message> ours = alice.until_finished(id);
    std::erase_if(ours, [](const auto& m) { return m.type() == "comfyq_queue_position"; });  // comfyq's own, documented
    // ComfyUI's history holds the job by the time its end marker is sent.
    CHECK(s.call(http::verb::get, "/user/alice/history/" + id, "alice").json().contains(id));

    REQUIRE(types_of(ours).size() == recorded.size());
    for (std::size_t i = 0; i < recorded.size(); ++i) {
      check_same_shape(recorded[i], ours[i].json(), "message " + std::to_string(i));
      const ordered data = ours[i].json().at("data");
      if (data.contains("prompt_id")) CHECK(data.at("prompt_id") == id);
    }
    // The output is named as this API's /view serves it: in a folder named after the job.
    const ordered executed = ours[ours.size() - 5].json();
    REQUIRE(executed.at("type") == "executed");
    CHECK(executed.at("data").at("output").at("images").at(0).at("subfolder") == id);
    CHECK(executed.at("data").at("output").at("images").at(0).at("type") == "output");

    CHECK_FALSE(bob.next(300ms));
  }
}

TEST_CASE("a socket that asked for preview metadata gets previews as type 4, another as type 1",
          "[server][comfyui_api][comfyui_socket]") {
  running_server s;
  publish_recorded_nodes(s);
  test_websocket flagged(s.web.port(), "alice", "/user/alice/api/ws?clientId=flagged");
  flagged.send(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true}})");
  test_websocket legacy(s.web.port(), "alice", "/user/alice/ws?clientId=legacy");
  greeting_of(flagged);
  greeting_of(legacy);
  const auto flags = flagged.next();
  REQUIRE(flags);
  CHECK(flags->json() == ordered::parse(R"({"type": "feature_flags", "data": {"supports_preview_metadata": true,
                                             "max_upload_size": 1048576}})"));

  const std::string id = prompt(s, "alice");
  const auto lease = s.queue.lease("gpu0");
  REQUIRE(lease);
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "a preview's bytes";
  s.queue.report_progress(id, lease->token, {{"node", "2"}, {"value", 1}, {"max", 2}});
  s.queue.report_progress(
      id, lease->token,
      {{"node", "2"},
       {"preview", {{"media_type", "image/png"}, {"base64", comfyq::comfyui::detail::base64_encode(png)}}}});
  s.queue.complete(id, lease->token, {});

  for (test_websocket* socket : {&flagged, &legacy}) {
    const std::vector<test_websocket::message> messages = socket->until_finished(id);
    std::optional<test_websocket::message> preview;
    for (const auto& m : messages) {
      if (m.binary) preview = m;
    }
    REQUIRE(preview);
    const comfyq::comfyui::binary_frame frame = comfyq::comfyui::parse_binary_frame(preview->bytes);
    CHECK(frame.payload == png);
    CHECK(frame.media_type == "image/png");
    if (socket == &flagged) {
      CHECK(frame.type == comfyq::comfyui::binary_type::preview_image_with_metadata);
      CHECK(frame.prompt_id == id);
      CHECK(frame.node == "2");
    } else {
      CHECK(frame.type == comfyq::comfyui::binary_type::preview_image);
    }
    // The step before it, as ComfyUI sends it.
    const auto step =
        std::find_if(messages.begin(), messages.end(), [](const auto& m) { return m.type() == "progress"; });
    REQUIRE(step != messages.end());
    CHECK(step->json().at("data") == ordered{{"value", 1}, {"max", 2}, {"prompt_id", id}, {"node", "2"}});
  }
}

TEST_CASE("a socket that joins mid-job hears what runs now and where the tenant's waiting jobs stand",
          "[server][comfyui_api][comfyui_socket]") {
  running_server s;
  publish_recorded_nodes(s);
  const std::string running = prompt(s, "alice");
  const std::string waiting = prompt(s, "alice");
  const auto lease = s.queue.lease("gpu0");
  REQUIRE(lease);
  REQUIRE(lease->job_id == running);
  s.queue.report_progress(running, lease->token, {{"node", "2"}});

  test_websocket late(s.web.port(), "alice", "/ws");
  const ordered hello = greeting_of(late);
  CHECK(hello.at("status").at("exec_info").at("queue_remaining") == 2);
  CHECK(hello.at("sid").get<std::string>().size() == 32);  // made up, as ComfyUI's uuid4().hex
  bool heard_node = false;
  bool heard_position = false;
  while (!(heard_node && heard_position)) {
    const auto m = late.next();
    REQUIRE(m);
    const ordered j = m->json();
    if (j.at("type") == "executing") {
      CHECK(j.at("data") == ordered{{"node", "2"}, {"display_node", "2"}, {"prompt_id", running}});
      heard_node = true;
    } else if (j.at("type") == "comfyq_queue_position") {
      CHECK(j.at("data").at("prompt_id") == waiting);
      CHECK(j.at("data").at("position") == 1);
      heard_position = true;
    }
  }
}

TEST_CASE("a socket hears how a tenant's job ended: failed, interrupted, or deleted while it waited",
          "[server][comfyui_api][comfyui_socket]") {
  running_server s;
  publish_recorded_nodes(s);
  test_websocket socket(s.web.port(), "alice", "/user/alice/ws?clientId=c");
  greeting_of(socket);

  SECTION("failed") {
    const std::string id = prompt(s, "alice");
    const auto lease = s.queue.lease("gpu0");
    REQUIRE(lease);
    s.queue.report_progress(id, lease->token, {{"node", "1"}});
    s.queue.report_progress(id, lease->token, {{"node", "2"}});
    s.queue.fail(id, lease->token, "node 2 (ImageInvert) raised Exception: no", comfyq::failure::final);
    const auto messages = socket.until_finished(id);
    REQUIRE(messages.size() >= 3);
    const ordered error = messages[messages.size() - 3].json();
    REQUIRE(error.at("type") == "execution_error");
    CHECK(error.at("data").at("node_id") == "2");
    CHECK(error.at("data").at("node_type") == "ImageInvert");
    CHECK(error.at("data").at("executed") == ordered::array({"1"}));
    CHECK(error.at("data").at("exception_message") == "node 2 (ImageInvert) raised Exception: no");
    CHECK(messages[messages.size() - 2].json().at("data").at("status").at("exec_info").at("queue_remaining") == 0);
  }
  SECTION("interrupted while it ran") {
    const std::string id = prompt(s, "alice");
    const auto lease = s.queue.lease("gpu0");
    REQUIRE(lease);
    s.queue.report_progress(id, lease->token, {{"node", "1"}});
    REQUIRE(s.call(http::verb::post, "/user/alice/interrupt", "alice").status == 200);
    s.queue.heartbeat(id, lease->token);
    s.queue.release(id, lease->token);  // the worker stopped it and let go
    const auto messages = socket.until_finished(id);
    REQUIRE(messages.size() >= 3);
    const ordered interrupted = messages[messages.size() - 3].json();
    REQUIRE(interrupted.at("type") == "execution_interrupted");
    CHECK(interrupted.at("data").at("node_id") == "1");
    CHECK(interrupted.at("data").at("node_type") == "EmptyImage");
  }
  SECTION("deleted while it waited: as in ComfyUI, only the count changes") {
    const std::string id = prompt(s, "alice");
    const auto queued = socket.next();
    REQUIRE(queued);
    CHECK(queued->json().at("data").at("status").at("exec_info").at("queue_remaining") == 1);
    REQUIRE(s.call(http::verb::post, "/user/alice/queue", "alice", ordered{{"delete", {id}}}.dump()).status == 200);
    std::optional<test_websocket::message> m;
    do {
      m = socket.next();
      REQUIRE(m);
    } while (m->type() == "comfyq_queue_position");
    CHECK(m->json() ==
          ordered::parse(R"({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}}})"));
  }
}

TEST_CASE("a socket is only the caller's own, and only a WebSocket", "[server][comfyui_api][comfyui_socket]") {
  running_server s;
  // The upgrade's refusals, as a client that asked for it reads them.
  const auto upgrade = [&](const std::string& target, const std::string& user) {
    std::vector<std::pair<std::string, std::string>> headers{{"Connection", "Upgrade"},
                                                             {"Upgrade", "websocket"},
                                                             {"Sec-WebSocket-Version", "13"},
                                                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
    if (!user.empty()) headers.emplace_back("X-Test-User", user);
    return comfyq::testing::http_call(s.web.port(), http::verb::get, target, headers);
  };
  const comfyq::testing::http_answer intruder = upgrade("/user/alice/ws?clientId=x", "bob");
  CHECK(intruder.status == 403);
  CHECK(intruder.json().at("error").at("message") == "this is alice's ComfyUI; yours is /user/bob/");
  CHECK(upgrade("/ws", "").status == 401);
  CHECK(test_websocket(s.web.port(), "bob", "/user/alice/api/ws").refused());
  CHECK_FALSE(test_websocket(s.web.port(), "admin", "/user/alice/ws?clientId=y").refused());
  const comfyq::testing::http_answer plain = s.call(http::verb::get, "/user/alice/ws", "alice");
  CHECK(plain.status == 400);
  CHECK(plain.json().at("error").at("code") == "not_a_websocket");
}
