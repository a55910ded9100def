#pragma once
// The recorded ComfyUI 0.8.0 traffic (support/comfyui_recordings.hpp) as the contract tests
// read it: transcripts with their keys in recorded order, and raw `curl -i` answers (*.http.txt).

#include <cctype>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/comfyui_recordings.hpp"

namespace comfyq::testing::contract {

using json = nlohmann::ordered_json;

using comfyq::testing::recording_bytes;

/// The events of a *.jsonl transcript, in order, keys in the order they were recorded.
inline std::vector<json> load_transcript(std::string_view name) { return comfyq::testing::load_transcript<json>(name); }

/// The first HTTP event of a transcript whose label is `label`.
inline const json& labelled(const std::vector<json>& transcript, std::string_view label) {
  for (const auto& event : transcript) {
    if (event.value("dir", "") == "http" && event.at("request").value("label", "") == label) return event;
  }
  throw std::runtime_error("no HTTP event labelled " + std::string(label));
}

struct recorded_answer {
  unsigned status{};
  std::map<std::string, std::string> headers{};  // names in lower case
  std::string body{};
};

/// A `curl -i` recording: status line, headers, blank line, body.
inline recorded_answer load_http_answer(std::string_view name) {
  const std::string text = recording_bytes(name);
  recorded_answer answer;
  const bool crlf = text.find("\r\n\r\n") != std::string::npos;  // some recordings have bare LF lines
  const std::size_t head_end = text.find(crlf ? "\r\n\r\n" : "\n\n");
  std::istringstream head(text.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  answer.status = static_cast<unsigned>(std::stoi(line.substr(line.find(' ') + 1, 3)));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    answer.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  answer.body = text.substr(head_end + (crlf ? 4 : 2));
  return answer;
}

}  // namespace comfyq::testing::contract
