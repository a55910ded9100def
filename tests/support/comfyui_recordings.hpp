#pragma once
// The recorded traffic of a real ComfyUI 0.8.0 in tests/fixtures/comfyui-protocol: transcripts
// (*.jsonl, one event per line) and the binary WebSocket frames they name (*.bin).

#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace comfyq::testing {

inline std::string recording_bytes(std::string_view name) {
  const std::string path = std::string(COMFYQ_FIXTURES_DIR) + "/comfyui-protocol/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read recording " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The events of a *.jsonl transcript, in order (as nlohmann::ordered_json to compare key order).
template <class Json = nlohmann::json>
std::vector<Json> load_transcript(std::string_view name) {
  std::vector<Json> events;
  std::istringstream lines(recording_bytes(name));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) events.push_back(Json::parse(line));
  }
  return events;
}

/// The text frames the server sent to socket `ws` of a transcript, each as sent.
inline std::vector<std::string> text_frames_to(const std::vector<nlohmann::json>& transcript, std::string_view ws) {
  std::vector<std::string> frames;
  for (const nlohmann::json& e : transcript) {
    if (e.value("dir", "") == "server->ws" && e.value("ws", "") == ws && e.value("kind", "") == "text") {
      frames.push_back(e["data"].dump());
    }
  }
  return frames;
}

/// The HTTP exchanges of a transcript whose request path starts with `path`.
inline std::vector<nlohmann::json> http_exchanges(const std::vector<nlohmann::json>& transcript, std::string_view path) {
  std::vector<nlohmann::json> found;
  for (const nlohmann::json& e : transcript) {
    if (e.value("dir", "") == "http" && e["request"].value("path", "").starts_with(path)) found.push_back(e);
  }
  return found;
}

/// Every transcript of the recordings.
inline const std::vector<std::string>& transcript_names() {
  static const std::vector<std::string> names{
      "history_ops.jsonl",          "job_previewimage_ws_featureflags.jsonl",    "job_saveimage_resubmit_cached.jsonl",
      "job_saveimage_ws_legacy.jsonl", "post_prompt_errors.jsonl",               "queue_clear_and_interrupt.jsonl",
      "queue_priority_delete_clear.jsonl", "saveimage_naming_output_directory.jsonl", "upload_view_and_execution_error.jsonl",
      "ws_binary_frames_featureflags_client.jsonl", "ws_binary_frames_legacy_client.jsonl", "ws_reconnect_midjob.jsonl",
      "ws_same_clientid_twice.jsonl", "ws_visibility_multi_client.jsonl"};
  return names;
}

}  // namespace comfyq::testing
