#pragma once
// What a worker reads about its ComfyUI as a whole (comfyui-protocol/PROTOCOL.md §3, §8): who
// it is (GET /system_stats) and what it has queued and running (GET /queue), which tells a
// prompt that is still on its way from one that a restarted ComfyUI forgot.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/detail/json_text.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui {

/// The ComfyUI version and its devices, as a worker registers them.
struct instance_identity {
  std::string version{};  ///< system.comfyui_version, "" when not given
  /// The devices' names, ", "-separated: "cuda:0 NVIDIA H100 80GB HBM3". Both as printable
  /// ASCII of at most 256 characters (others become '?'), as stores keep registrations.
  std::string gpu{};
};

namespace detail {

// Stores keep registrations as short printable ASCII (they go into every dashboard's events):
// anything else becomes '?', and the text is cut at 256 characters.
inline std::string registrable_text(std::string text) {
  if (text.size() > 256) text.resize(256);
  for (char& c : text) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return text;
}

}  // namespace detail

/// Reads GET /system_stats: {"system": {"comfyui_version", ...}, "devices": [{"name", ...}]}.
inline instance_identity read_system_stats(const nlohmann::json& stats) {
  if (!stats.is_object()) throw comfyui_protocol_error("system_stats", "must be a JSON object");
  instance_identity identity;
  identity.version =
      detail::registrable_text(detail::text_at(stats.value("system", nlohmann::json::object()), "comfyui_version"));
  const nlohmann::json devices = stats.value("devices", nlohmann::json::array());
  if (!devices.is_array()) throw comfyui_protocol_error("system_stats.devices", "must be an array");
  for (const nlohmann::json& device : devices) {
    const std::string name = detail::text_at(device, "name");
    if (name.empty()) continue;
    identity.gpu += (identity.gpu.empty() ? "" : ", ") + name;
  }
  identity.gpu = detail::registrable_text(std::move(identity.gpu));
  return identity;
}

/// One prompt in ComfyUI's queue.
struct queued_prompt {
  std::string prompt_id{};
  std::string client_id{};  ///< extra_data.client_id: the socket its frames go to
  bool running = false;     ///< running now, rather than pending
};

/// Reads GET /queue: {"queue_running": [item], "queue_pending": [item, ...]}, where item =
/// [number, prompt_id, graph, extra_data, outputs_to_execute]. Running prompts come first.
inline std::vector<queued_prompt> read_queue(const nlohmann::json& queue) {
  if (!queue.is_object()) throw comfyui_protocol_error("queue", "must be a JSON object");
  std::vector<queued_prompt> prompts;
  for (const char* key : {"queue_running", "queue_pending"}) {
    const nlohmann::json items = queue.value(key, nlohmann::json::array());
    if (!items.is_array()) throw comfyui_protocol_error(std::string("queue.") + key, "must be an array");
    for (const nlohmann::json& item : items) {
      if (!item.is_array() || item.size() < 2 || !item[1].is_string()) {
        throw comfyui_protocol_error(std::string("queue.") + key,
                                     "every item must be [number, prompt_id, graph, extra_data, outputs]");
      }
      const nlohmann::json extra = item.size() > 3 ? item[3] : nlohmann::json::object();
      prompts.push_back({.prompt_id = item[1].get<std::string>(),
                         .client_id = detail::text_at(extra, "client_id"),
                         .running = std::string_view(key) == "queue_running"});
    }
  }
  return prompts;
}

}  // namespace comfyq::comfyui
