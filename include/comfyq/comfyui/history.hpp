#pragma once
// What ComfyUI's /history/{prompt_id} says about a prompt: whether it knows it, how it ended,
// and its outputs (comfyui-protocol/PROTOCOL.md §3). It is the authoritative record: the worker
// reads it once the WebSocket says the prompt is over, and after a reconnect, when frames were
// lost. The entry's status.messages are the same frames the socket carried, so the outcome is
// read by the same prompt_follower.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/artifact.hpp"
#include "comfyq/comfyui/messages.hpp"
#include "comfyq/comfyui/prompt_follower.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

struct prompt_record {
  /// False when ComfyUI has no entry for it: still queued or running, never submitted, or
  /// lost (ComfyUI restarted; its history lives in memory only).
  bool found = false;
  prompt_end end = prompt_end::running;  ///< found: succeeded, failed or interrupted
  std::string error{};                   ///< as prompt_follower::error()
  nlohmann::json error_details = nlohmann::json::object();
  std::vector<artifact> outputs{};  ///< every file its output nodes reported
};

/// Reads the answer of GET /history/{prompt_id}: {prompt_id: entry}, or {} for a prompt ComfyUI
/// does not know. Throws comfyui_protocol_error when the answer is not an object, or the entry's
/// status is malformed, and invalid_input (from artifacts_from_history) when its outputs are.
inline prompt_record read_history(const nlohmann::json& answer, std::string_view prompt_id) {
  if (!answer.is_object()) throw comfyui_protocol_error("history", "must be a JSON object");
  prompt_record record;
  const auto entry = answer.find(std::string(prompt_id));
  if (entry == answer.end()) return record;
  const std::string field = "history." + std::string(prompt_id);
  if (!entry->is_object()) throw comfyui_protocol_error(field, "must be an object");
  const nlohmann::json status = entry->value("status", nlohmann::json::object());
  const nlohmann::json messages = status.value("messages", nlohmann::json::array());
  if (!status.is_object() || !messages.is_array()) {
    throw comfyui_protocol_error(field + ".status", "must be {status_str, completed, messages: [[type, data], ...]}");
  }
  prompt_follower follower{std::string(prompt_id)};
  for (const nlohmann::json& pair : messages) {
    if (!pair.is_array() || pair.size() != 2) {
      throw comfyui_protocol_error(field + ".status.messages", "every message must be a [type, data] pair");
    }
    follower.on_message(read_message({{"type", pair[0]}, {"data", pair[1]}}));
  }
  record.found = true;
  record.end = follower.end();
  // An entry is only written once the prompt is over; without an outcome message, status_str says it.
  if (record.end == prompt_end::running || record.end == prompt_end::unknown) {
    record.end = detail::text_at(status, "status_str") == "success" ? prompt_end::succeeded : prompt_end::failed;
  }
  record.error = follower.error();
  record.error_details = follower.error_details();
  if (record.end == prompt_end::failed && record.error.empty()) {
    record.error = "ComfyUI recorded the prompt as failed without saying why";
  }
  record.outputs = artifacts_from_history(entry->value("outputs", nlohmann::json::object()));
  return record;
}

}  // namespace comfyq::comfyui
