#pragma once
// What the tests of comfyq's ComfyUI clients share: client options for a stand-in with timeouts
// short enough for tests, graphs, and reading a WebSocket until a frame that matters.

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/prompt_follower.hpp"
#include "comfyq/comfyui/ws_client.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace comfyq::testing::clients {

/// The stand-in on `port`, with short waits: a refusal comes at once on loopback anyway.
inline comfyui::client_options options_for(unsigned short port) {
  return comfyui::client_options{.host = "127.0.0.1",
                                 .port = port,
                                 .connect_timeout = std::chrono::seconds(2),
                                 .request_timeout = std::chrono::seconds(10)};
}

/// The graph of a recorded job (`contract::invert_job` or `contract::sampler_job`), as the worker
/// posts it: plain nlohmann::json.
inline nlohmann::json graph_of(const contract::json& job) { return nlohmann::json::parse(job.at("prompt").dump()); }

/// EmptyImage "1" -> ImageInvert "2" -> SaveImage "3", saving under `prefix`.
inline nlohmann::json invert_graph(const std::string& prefix) {
  nlohmann::json graph = graph_of(contract::invert_job("", ""));
  graph["3"]["inputs"]["filename_prefix"] = prefix;
  return graph;
}

/// Reads `socket` until a text frame satisfies `done` (at most 30 s: the test fails if none
/// does); every frame read on the way, that one included.
template <class Done>
std::vector<comfyui::ws_frame> read_until(comfyui::ws_client& socket, Done done) {
  std::vector<comfyui::ws_frame> frames;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto frame = socket.read(std::chrono::milliseconds(200));
    if (!frame) continue;
    frames.push_back(std::move(*frame));
    if (const auto* text = std::get_if<comfyui::message>(&frames.back()); text && done(*text)) return frames;
  }
  FAIL("the awaited WebSocket frame did not come within 30 s");
  return frames;
}

/// Feeds `follower` the frames of `socket` until its prompt is over (and its history written).
/// Every frame read.
inline std::vector<comfyui::ws_frame> follow(comfyui::ws_client& socket, comfyui::prompt_follower& follower) {
  return read_until(socket, [&](const comfyui::message& m) {
    follower.on_message(m);
    return follower.over();
  });
}

/// Feeds `follower` the frames of `socket` until its prompt runs node `node_id`.
inline void follow_until_node(comfyui::ws_client& socket, comfyui::prompt_follower& follower, const std::string& node_id) {
  read_until(socket, [&](const comfyui::message& m) {
    follower.on_message(m);
    return follower.node() == node_id;
  });
}

/// The binary frames among `frames`; their payloads view the bytes `frames` holds.
inline std::vector<comfyui::binary_frame> binary_frames(const std::vector<comfyui::ws_frame>& frames) {
  std::vector<comfyui::binary_frame> found;
  for (const auto& frame : frames) {
    if (const auto* binary = std::get_if<comfyui::binary_message>(&frame)) found.push_back(binary->frame());
  }
  return found;
}

}  // namespace comfyq::testing::clients
