// POST /prompt validation answers exactly as recorded in post_prompt_errors.jsonl: every
// rejection's status, error type, message and node_errors (tracebacks included), the
// partial accept, the missing prompt key, the non-JSON body and the empty prompt.

#include <catch2/catch.hpp>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;

TEST_CASE("invalid prompts are rejected as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  contract::replay_options options;
  // The validation errors are static texts, tracebacks included: compare all of them.
  options.rules_for = [](const contract::json&) { return contract::comparison{.type_only_keys = {}}; };
  contract::check_replay("post_prompt_errors.jsonl", fixture.standin, std::move(options));
}

TEST_CASE("a literal input is converted as ComfyUI converts it, and queued converted", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  const auto port = fixture.standin.port();
  const contract::json graph = contract::json::parse(R"({
    "1": {"class_type": "EmptyImage", "inputs": {"width": "64", "height": 64.9, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "conv/x"}}})");
  const auto reply = comfyq::testing::http_post_json(port, "/prompt", {{"prompt", graph}, {"prompt_id", "conv"}});
  REQUIRE(reply.status == 200);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  contract::json history;
  while (history.empty() && std::chrono::steady_clock::now() < deadline) {
    history = comfyq::testing::http_get(port, "/history/conv").json();
  }
  REQUIRE(!history.empty());
  const auto& inputs = history.at("conv").at("prompt").at(2).at("1").at("inputs");
  CHECK(inputs.at("width") == 64);
  CHECK(inputs.at("height") == 64);
  CHECK(history.at("conv").at("outputs").at("2").at("images").at(0).at("filename") == "x_00001_.png");
}

TEST_CASE("a combo value outside its choices is rejected with the choices", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  const contract::json graph = contract::json::parse(R"({
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
    "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "sideways", "width": 8,
                                                  "height": 8, "crop": "disabled"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}}})");
  const auto reply = comfyq::testing::http_post_json(fixture.standin.port(), "/prompt", {{"prompt", graph}});
  REQUIRE(reply.status == 400);
  const auto error = reply.json().at("node_errors").at("2").at("errors").at(0);
  CHECK(error.at("type") == "value_not_in_list");
  CHECK(error.at("details") == "upscale_method: 'sideways' not in ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']");
}
