#pragma once
// Submitting a job's graph to ComfyUI: the body of POST /prompt, and what its answer means for
// the job (comfyui-protocol/PROTOCOL.md §2).
//
// The worker chooses the prompt_id (the job id) and sends its own client_id, so that every
// WebSocket frame and history entry of the prompt is its own. ComfyUI validates the graph
// inside the POST: a 400 carries {"error": {...}, "node_errors": {...}} and the job fails for
// good (running it again would fail the same way). A 200 whose node_errors is not empty is a
// partial accept: ComfyUI silently dropped the invalid output nodes and runs the rest, so the
// job would succeed without some of its outputs; comfyq treats it as a failure too (and the
// worker interrupts what was accepted). A 5xx is ComfyUI in trouble: the job is retried.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/detail/json_text.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

/// The body of POST /prompt for `graph` (API format) under the worker's ids.
inline nlohmann::json prompt_request(const nlohmann::json& graph, std::string_view prompt_id,
                                     std::string_view client_id) {
  return {{"prompt", graph}, {"prompt_id", prompt_id}, {"client_id", client_id}};
}

enum class prompt_outcome {
  accepted,   ///< queued in ComfyUI, every output node included
  rejected,   ///< ComfyUI refused the graph (400, or a 200 that dropped outputs): fail, do not retry
  retryable,  ///< ComfyUI could not take it now (5xx): release the job and try again later
};

/// What ComfyUI answered to POST /prompt.
struct prompt_answer {
  prompt_outcome outcome = prompt_outcome::accepted;
  std::uint64_t number = 0;  ///< accepted: ComfyUI's queue number
  std::string reason{};      ///< rejected or retryable: one line a participant can act on
  /// rejected: ComfyUI's own error shape, kept as sent: {"error": {...}, "node_errors": {...}}
  /// (for a partial accept, "error" is absent).
  nlohmann::json details = nlohmann::json::object();
};

namespace detail {

// "node 2 (ImageInvert): Required input is missing: image; node 1 (...): ..."
inline std::string describe_node_errors(const nlohmann::json& node_errors) {
  std::string text;
  for (const auto& [node, entry] : node_errors.items()) {
    if (!entry.is_object()) continue;
    std::string line = "node " + node;
    if (const std::string type = text_at(entry, "class_type"); !type.empty()) line += " (" + type + ")";
    const auto errors = entry.find("errors");
    if (errors != entry.end() && errors->is_array()) {
      std::string sep = ": ";
      for (const auto& e : *errors) {
        if (!e.is_object()) continue;
        line += sep + text_at(e, "message");
        if (const std::string details = text_at(e, "details"); !details.empty()) line += ": " + details;
        sep = ", ";
      }
    }
    text += (text.empty() ? "" : "; ") + line;
  }
  return text;
}

}  // namespace detail

/// Reads ComfyUI's answer to POST /prompt for `prompt_id`. Throws comfyui_protocol_error for
/// an answer no ComfyUI gives: a 200 that is not {"prompt_id", "number", "node_errors"} or names
/// another prompt, a 400 without an "error" object, any other status.
inline prompt_answer read_prompt_answer(unsigned status, std::string_view body, std::string_view prompt_id) {
  prompt_answer answer;
  if (status >= 500) {
    answer.outcome = prompt_outcome::retryable;
    answer.reason = "ComfyUI answered POST /prompt with " + std::to_string(status) + " (it is in trouble); retry later";
    return answer;
  }
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    throw comfyui_protocol_error("prompt.answer", "ComfyUI answered " + std::to_string(status) +
                                                      " to POST /prompt with a body that is not a JSON object");
  }
  const nlohmann::json node_errors = json.value("node_errors", nlohmann::json::object());
  if (status == 200) {
    const auto number = json.find("number");
    if (detail::text_at(json, "prompt_id") != prompt_id || number == json.end() || !number->is_number()) {
      throw comfyui_protocol_error("prompt.answer", "a 200 to POST /prompt must echo prompt_id '" +
                                                        std::string(prompt_id) + "' and give a queue number");
    }
    answer.number = static_cast<std::uint64_t>(number->get<double>());
    if (node_errors.is_object() && !node_errors.empty()) {
      answer.outcome = prompt_outcome::rejected;
      answer.reason = "ComfyUI dropped output nodes that failed validation (" +
                      detail::describe_node_errors(node_errors) + "); fix them and submit again";
      answer.details = {{"node_errors", node_errors}};
    }
    return answer;
  }
  if (status == 400 && json.contains("error") && json["error"].is_object()) {
    const nlohmann::json& error = json["error"];
    answer.outcome = prompt_outcome::rejected;
    answer.reason = "ComfyUI rejected the workflow: " + detail::text_at(error, "message");
    if (const std::string details = detail::text_at(error, "details"); !details.empty()) {
      answer.reason += " (" + details + ")";
    }
    if (const std::string nodes = detail::describe_node_errors(node_errors); !nodes.empty()) {
      answer.reason += ": " + nodes;
    }
    answer.details = {{"error", error}, {"node_errors", node_errors}};
    return answer;
  }
  throw comfyui_protocol_error("prompt.answer", "ComfyUI answered " + std::to_string(status) +
                                                    " to POST /prompt; it answers 200, 400 or 5xx");
}

}  // namespace comfyq::comfyui
