#pragma once
// Follows one prompt through the text frames of the worker's WebSocket: which node runs, its
// progress, and how the prompt ended (comfyui-protocol/PROTOCOL.md §4).
//
// Frames about other prompts are ignored (ComfyUI leaks the progress of prompts submitted
// without a client_id to every socket). A socket that reconnected mid-prompt is greeted with
// `executing {node}` without a prompt_id; one worker drives one ComfyUI, so that node is taken
// as this prompt's. The outcome comes with execution_success, execution_error or
// execution_interrupted; ComfyUI writes the prompt's /history entry after that, and then sends
// `executing {node: null}` for it: only then is the prompt over() and its history readable.
// When the end marker comes without an outcome (the socket was away when the outcome was
// sent, and ComfyUI does not replay), the end is `unknown`: the worker reads it from /history,
// which it reads for the outputs anyway.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/detail/json_text.hpp"
#include "comfyq/comfyui/messages.hpp"

namespace comfyq::comfyui {

enum class prompt_end {
  running,      ///< not over yet
  succeeded,    ///< execution_success
  failed,       ///< execution_error: see error()
  interrupted,  ///< execution_interrupted (POST /interrupt)
  unknown,      ///< over, but the outcome frame was missed: read /history
};

constexpr std::string_view to_string(prompt_end end) noexcept {
  switch (end) {
    case prompt_end::running: return "running";
    case prompt_end::succeeded: return "succeeded";
    case prompt_end::failed: return "failed";
    case prompt_end::interrupted: return "interrupted";
    case prompt_end::unknown: return "unknown";
  }
  return "unknown";
}

namespace detail {

// "node 2 (SaveImage) raised Exception: <message>", the message's trailing blank lines cut.
inline std::string describe_execution_error(const nlohmann::json& data) {
  std::string line = "node " + text_at(data, "node_id", "?");
  if (const std::string type = text_at(data, "node_type"); !type.empty()) line += " (" + type + ")";
  std::string message = text_at(data, "exception_message");
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return line + " raised " + text_at(data, "exception_type", "an error") + (message.empty() ? "" : ": " + message);
}

}  // namespace detail

class prompt_follower {
 public:
  explicit prompt_follower(std::string prompt_id) : prompt_id_(std::move(prompt_id)) {}

  const std::string& prompt_id() const noexcept { return prompt_id_; }
  /// The outcome so far: running until an outcome frame (or the end marker) arrived.
  prompt_end end() const noexcept { return end_; }
  /// True once `executing {node: null}` arrived for the prompt: ComfyUI has written its history.
  bool over() const noexcept { return over_; }
  /// True once ComfyUI started the prompt (execution_start, or any frame of it after that).
  bool started() const noexcept { return started_; }
  /// The node running now, "" before the first.
  const std::string& node() const noexcept { return node_; }
  /// failed: "node 2 (SaveImage) raised Exception: ..."; interrupted: which node it stopped at.
  const std::string& error() const noexcept { return error_; }
  /// failed or interrupted: the frame's data as ComfyUI sent it (node_id, traceback, ...).
  const nlohmann::json& error_details() const noexcept { return error_details_; }

  /// Takes one text frame. Returns the progress to publish as a job event, if the frame is
  /// some: {"node": id} when a node starts, {"node", "value", "max"} for a step of it.
  std::optional<nlohmann::json> on_message(const message& m) {
    if (over() || !concerns_this_prompt(m)) return std::nullopt;
    switch (m.type) {
      case message_type::execution_start:
        started_ = true;
        return std::nullopt;
      case message_type::executing:
        if (!m.node) {
          over_ = true;
          if (end_ == prompt_end::running) end_ = prompt_end::unknown;
          return std::nullopt;
        }
        started_ = true;
        node_ = *m.node;
        return nlohmann::json{{"node", node_}};
      case message_type::progress:
        started_ = true;
        return nlohmann::json{{"node", m.node.value_or(node_)}, {"value", m.value}, {"max", m.max}};
      case message_type::execution_success:
        end_ = prompt_end::succeeded;
        return std::nullopt;
      case message_type::execution_error:
        end_ = prompt_end::failed;
        error_ = detail::describe_execution_error(m.data);
        error_details_ = m.data;
        return std::nullopt;
      case message_type::execution_interrupted:
        end_ = prompt_end::interrupted;
        error_ = "interrupted at node " + m.node.value_or("?");
        error_details_ = m.data;
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

 private:
  // Its own frames, and the prompt-less `executing {node}` that greets a reconnected socket.
  bool concerns_this_prompt(const message& m) const {
    if (!m.prompt_id.empty()) return m.prompt_id == prompt_id_;
    return m.type == message_type::executing && m.node.has_value();
  }

  std::string prompt_id_;
  prompt_end end_ = prompt_end::running;
  bool over_ = false;
  bool started_ = false;
  std::string node_{};
  std::string error_{};
  nlohmann::json error_details_ = nlohmann::json::object();
};

}  // namespace comfyq::comfyui
