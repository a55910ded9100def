// The discovery endpoints answer like the recorded GET_*.http.txt files: same status,
// Content-Type and JSON (node definitions value for value; /system_stats, which describes
// a host, in shape only).

#include <catch2/catch.hpp>

#include <fstream>

#include "comfyui_contract/json_shape.hpp"
#include "comfyui_contract/recordings.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "comfyui_standin/png.hpp"
#include "comfyui_standin/test_client.hpp"

namespace contract = comfyq::testing::contract;
using comfyq::testing::http_get;

namespace {

void check_against_recording(unsigned short port, const std::string& path, const std::string& recording,
                             const contract::comparison& rules = {}) {
  const auto recorded = contract::load_http_answer(recording);
  const auto reply = http_get(port, path);
  INFO(path << " vs " << recording << "\n" << reply.body.substr(0, 300));
  CHECK(reply.status == recorded.status);
  CHECK(reply.header("content-type") == recorded.headers.at("content-type"));
  const auto differences = contract::compare_json(contract::json::parse(recorded.body), reply.json(), rules);
  for (const auto& difference : differences) FAIL_CHECK(difference);
}

}  // namespace

TEST_CASE("discovery endpoints answer as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  // ComfyUI ships input/example.png; LoadImage's choices list the input folder.
  std::ofstream(fixture.standin.folders().input + "/example.png", std::ios::binary)
      << comfyq::testing::standin::encode_png({8, 8}, {});
  const auto port = fixture.standin.port();

  check_against_recording(port, "/system_stats", "GET_system_stats.http.txt", {.shapes_only = true});
  check_against_recording(port, "/features", "GET_features.http.txt");
  check_against_recording(port, "/embeddings", "GET_embeddings.http.txt");
  check_against_recording(port, "/extensions", "GET_extensions.http.txt");
  check_against_recording(port, "/models", "GET_models.http.txt");
  check_against_recording(port, "/prompt", "GET_prompt.http.txt");
  check_against_recording(port, "/queue", "GET_queue.http.txt");
  check_against_recording(port, "/history", "GET_history.http.txt");
  for (const char* node : {"EmptyImage", "ImageInvert", "LoadImage", "PreviewImage", "SaveImage", "NoSuchNode"}) {
    check_against_recording(port, std::string("/object_info/") + node,
                            std::string("GET_object_info_") + node + ".http.txt");
  }
}

TEST_CASE("every route also answers under /api", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  const auto port = fixture.standin.port();
  for (const char* path : {"/features", "/queue", "/history", "/object_info/SaveImage", "/system_stats"}) {
    INFO(path);
    const auto plain = http_get(port, path);
    const auto prefixed = http_get(port, std::string("/api") + path);
    CHECK(prefixed.status == 200);
    CHECK(prefixed.body == plain.body);
  }
}

TEST_CASE("GET /object_info serves every recorded node class", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  const auto reply = http_get(fixture.standin.port(), "/object_info");
  REQUIRE(reply.status == 200);
  const auto served = reply.json();
  const auto recorded = contract::json::parse(contract::recording_bytes("GET_object_info_full.json"));
  CHECK(served.size() == recorded.size());
  CHECK(served.at("KSampler") == recorded.at("KSampler"));
  CHECK(served.at("SaveImageWebsocket").at("output_node") == true);
}
