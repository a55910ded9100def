#pragma once
// The text frames ComfyUI sends on its WebSocket (/ws?clientId=...), read into one typed value.
// Every frame is {"type": T, "data": {...}} (comfyui-protocol/PROTOCOL.md §4). A worker needs
// the type, the prompt a frame is about (most name one; `status` and the `executing` that
// greets a reconnected socket do not), the node, and for `progress` the step counts; the rest
// stays in `data`. Types this version does not know (custom nodes add their own, e.g.
// "crystools.monitor") come back as message_type::other, not as an error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

enum class message_type {
  status,                 ///< queue length changed (broadcast); data.status.exec_info.queue_remaining
  feature_flags,          ///< the answer to the client's feature_flags frame
  execution_start,        ///< a prompt starts
  execution_cached,       ///< data.nodes: the nodes served from cache
  executing,              ///< a node starts; node null (with prompt_id): the prompt is over
  progress,               ///< a node reports step `value` of `max`
  progress_state,         ///< the state of every node that is not pending
  executed,               ///< a node produced UI output (data.output: images, text, ...)
  execution_success,      ///< the prompt ended well
  execution_error,        ///< a node raised: node_id, node_type, exception_message, traceback
  execution_interrupted,  ///< POST /interrupt stopped the prompt at node_id
  other,                  ///< a type this version does not know
};

constexpr std::string_view to_string(message_type type) noexcept {
  switch (type) {
    case message_type::status: return "status";
    case message_type::feature_flags: return "feature_flags";
    case message_type::execution_start: return "execution_start";
    case message_type::execution_cached: return "execution_cached";
    case message_type::executing: return "executing";
    case message_type::progress: return "progress";
    case message_type::progress_state: return "progress_state";
    case message_type::executed: return "executed";
    case message_type::execution_success: return "execution_success";
    case message_type::execution_error: return "execution_error";
    case message_type::execution_interrupted: return "execution_interrupted";
    case message_type::other: return "other";
  }
  return "other";
}

/// One text frame.
struct message {
  message_type type = message_type::other;
  std::string type_name{};           ///< the "type" as sent, also for message_type::other
  std::string prompt_id{};           ///< the prompt it is about; "" when the frame names none
  std::optional<std::string> node{};  ///< executing/progress/executed: the node; executing {node: null}: empty
  std::uint64_t value = 0;           ///< progress: steps done
  std::uint64_t max = 0;             ///< progress: steps in all
  nlohmann::json data = nlohmann::json::object();  ///< the frame's "data", as sent

  /// True for the frames after which a prompt does nothing more: execution_success,
  /// execution_error, execution_interrupted and `executing` with node null.
  bool ends_prompt() const noexcept {
    return type == message_type::execution_success || type == message_type::execution_error ||
           type == message_type::execution_interrupted || (type == message_type::executing && !node);
  }
};

namespace detail {

inline message_type message_type_of(std::string_view name) noexcept {
  for (message_type t : {message_type::status, message_type::feature_flags, message_type::execution_start,
                         message_type::execution_cached, message_type::executing, message_type::progress,
                         message_type::progress_state, message_type::executed, message_type::execution_success,
                         message_type::execution_error, message_type::execution_interrupted}) {
    if (to_string(t) == name) return t;
  }
  return message_type::other;
}

// A node id is a string in ComfyUI's frames; a number is accepted too (its text), since a
// frontend-built graph may use numeric keys that a custom node echoes back unconverted.
inline std::optional<std::string> node_id(const nlohmann::json& value, const std::string& field) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  throw comfyui_protocol_error(field, "is " + std::string(value.type_name()) +
                                          ", but ComfyUI sends a node id as a string (or null)");
}

inline std::uint64_t step_count(const nlohmann::json& data, const char* key, const std::string& field) {
  const auto found = data.find(key);
  if (found == data.end() || !found->is_number() || found->get<double>() < 0) {
    throw comfyui_protocol_error(field + "." + key, "must be a number of steps (0 or more)");
  }
  return static_cast<std::uint64_t>(found->get<double>());
}

}  // namespace detail

/// Reads one frame, already parsed as JSON (also the [type, data] pairs of a /history entry's
/// status.messages, given as {"type": type, "data": data}). Throws comfyui_protocol_error, naming
/// the part, for a frame that is not {"type": string, "data": object}, or whose prompt_id, node
/// or step counts have the wrong type.
inline message read_message(nlohmann::json frame) {
  if (!frame.is_object() || !frame.contains("type") || !frame["type"].is_string()) {
    throw comfyui_protocol_error("ws.type", "a text frame has no \"type\" string");
  }
  message m;
  m.type_name = frame["type"].get<std::string>();
  m.type = detail::message_type_of(m.type_name);
  const std::string field = "ws." + m.type_name;
  if (frame.contains("data")) {
    if (!frame["data"].is_object()) throw comfyui_protocol_error(field + ".data", "must be an object");
    m.data = std::move(frame["data"]);
  }
  if (const auto id = m.data.find("prompt_id"); id != m.data.end() && !id->is_null()) {
    if (!id->is_string()) throw comfyui_protocol_error(field + ".prompt_id", "must be a string");
    m.prompt_id = id->get<std::string>();
  }
  switch (m.type) {
    case message_type::executing:
    case message_type::executed:
    case message_type::progress:
      m.node = detail::node_id(m.data.value("node", nlohmann::json()), field + ".node");
      if (m.type == message_type::progress) {
        m.value = detail::step_count(m.data, "value", field);
        m.max = detail::step_count(m.data, "max", field);
      }
      break;
    case message_type::execution_error:
    case message_type::execution_interrupted:
      m.node = detail::node_id(m.data.value("node_id", nlohmann::json()), field + ".node_id");
      break;
    default:
      break;
  }
  return m;
}

/// Reads one text frame: read_message, after refusing text that is not JSON.
inline message parse_message(std::string_view text) {
  nlohmann::json frame = nlohmann::json::parse(text, nullptr, false);
  if (frame.is_discarded()) throw comfyui_protocol_error("ws", "a text frame is not JSON");
  return read_message(std::move(frame));
}

}  // namespace comfyq::comfyui
