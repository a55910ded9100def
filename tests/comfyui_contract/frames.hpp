#pragma once
// Reading a job's WebSocket frames in tests: up to a given frame, with a bound on the wait.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "comfyui_contract/recordings.hpp"
#include "comfyui_standin/test_client.hpp"

namespace comfyq::testing::contract {

/// The type of a text frame ("" for binary frames and the end of the connection).
inline std::string frame_type(const ws_frame& frame) {
  return frame.ended || frame.binary ? "" : frame.json().value("type", "");
}

/// executing {node: null, prompt_id}: ComfyUI's "this job is over".
inline bool is_job_end(const ws_frame& frame) {
  return frame_type(frame) == "executing" && frame.json().at("data").at("node").is_null();
}

/// executing {node: `node_id`}
inline bool is_executing(const ws_frame& frame, const std::string& node_id) {
  return frame_type(frame) == "executing" && frame.json().at("data").at("node") == node_id;
}

/// Frames up to and including the first that `last` accepts, or the end of the
/// connection; stops early (the last frame then fails `last`) after `timeout`.
inline std::vector<ws_frame> frames_until(ws_client& socket, const std::function<bool(const ws_frame&)>& last,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  std::vector<ws_frame> frames;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto frame = socket.next_frame(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!frame) break;
    frames.push_back(std::move(*frame));
    if (frames.back().ended || last(frames.back())) break;
  }
  return frames;
}

/// The data of the first text frame of `type`, or null.
inline json first_data(const std::vector<ws_frame>& frames, const std::string& type) {
  for (const auto& frame : frames) {
    if (frame_type(frame) == type) return frame.json().at("data");
  }
  return json();
}

}  // namespace comfyq::testing::contract
