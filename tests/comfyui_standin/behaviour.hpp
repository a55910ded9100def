#pragma once
// The knobs a test turns to make the stand-in misbehave the way a real ComfyUI can:
// slow nodes, a node that raises, a WebSocket that drops, a crash mid-job, a rejection,
// answers whose headers and body arrive apart.
// A node selector names a node id ("3") or a class_type ("KSampler"); empty means off.

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace comfyq::testing::standin {

struct behaviour {
  /// Simulated run time of every node that executes (not of cached ones).
  std::chrono::milliseconds node_delay{0};
  /// Run time of the nodes a selector names (a node id before a class_type), instead of node_delay.
  std::map<std::string, std::chrono::milliseconds, std::less<>> node_delays{};

  /// This node raises when it runs: execution_error, history status "error".
  std::string fail_node{};
  std::string fail_message{"comfyui-standin: this node was told to fail"};

  /// This node fails validation (custom_validation_failed): a 400 when every output
  /// depends on it, a partial accept (200 with node_errors) when some outputs do not.
  std::string invalid_node{};

  /// When this node starts, the job's client socket(s) are cut without a close frame.
  /// Fires once, then clears itself.
  std::string drop_socket_at_node{};

  /// When this node starts, the server dies: in-process it stops serving abruptly, as a
  /// process it exits at once. Fires once, then clears itself.
  std::string crash_at_node{};

  /// POST /prompt queues the prompt, then closes the connection without answering, as a
  /// connection that breaks after the request arrived does. Fires once, then clears itself.
  bool drop_prompt_answer{false};

  /// GET /history answers 500 (a ComfyUI that breaks after running the prompt).
  bool history_fails{false};

  /// Progress steps of sampler-like nodes that have no "steps" input.
  int sampler_steps{3};
  /// Whether sampler-like nodes send a binary preview frame with every step.
  bool sampler_previews{false};

  /// Every HTTP answer goes out as its headers in one write and its body in later writes, a
  /// pause apart, as ComfyUI's aiohttp often sends them: a client must not need both in one read.
  bool split_writes{false};

  std::chrono::milliseconds delay_for(std::string_view node_id, std::string_view class_type) const {
    if (const auto found = node_delays.find(node_id); found != node_delays.end()) return found->second;
    if (const auto found = node_delays.find(class_type); found != node_delays.end()) return found->second;
    return node_delay;
  }
};

/// Whether `selector` names this node (by id or by class_type).
inline bool selects(std::string_view selector, std::string_view node_id, std::string_view class_type) {
  return !selector.empty() && (selector == node_id || selector == class_type);
}

}  // namespace comfyq::testing::standin
