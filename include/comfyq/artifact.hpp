#pragma once
// Files a ComfyUI job reports, read from its /history entry or from WebSocket `executed`
// messages. Both carry a node's UI output: {"images": [{filename, subfolder, type}], "audio": [...],
// "animated": [true], "text": ["..."], ...}. Every list element that is an object with a
// "filename" is a file, whatever the key (custom nodes invent their own); anything else is not.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"

namespace comfyq {

/// One file as ComfyUI reports it; fetch it with GET /view?filename=&subfolder=&type=.
struct artifact {
  std::string filename;   ///< plain file name, e.g. "out_00001_.png"
  std::string subfolder;  ///< folder below the `type` directory, "" for its root
  std::string type;       ///< "output", "temp" (previews) or "input"
  std::string node;       ///< id of the workflow node that reported it

  friend bool operator==(const artifact&, const artifact&) = default;
};

namespace detail {

inline std::string optional_text(const nlohmann::json& record, const char* key, std::string_view fallback,
                                 const std::string& field) {
  const auto value = record.find(key);
  if (value == record.end()) return std::string(fallback);
  if (!value->is_string()) {
    throw invalid_input(field + "." + key, "is " + std::string(value->type_name()) +
                                               ", but ComfyUI reports it as text; the output record is malformed "
                                               "(a custom node's bug?), so the file cannot be located");
  }
  return value->get<std::string>();
}

/// Appends the files of one node's UI output to `files`.
inline void collect_files(const nlohmann::json& ui_output, const std::string& node, const std::string& field,
                          std::vector<artifact>& files) {
  if (!ui_output.is_object()) return;
  for (const auto& [key, list] : ui_output.items()) {
    if (!list.is_array()) continue;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& record = list[i];
      if (!record.is_object()) continue;
      const auto filename = record.find("filename");
      if (filename == record.end() || !filename->is_string()) continue;
      const std::string record_field = field + "." + printable(key) + "[" + std::to_string(i) + "]";
      files.push_back(artifact{filename->get<std::string>(), optional_text(record, "subfolder", "", record_field),
                               // GET /view reads from the output directory when no type is given.
                               optional_text(record, "type", "output", record_field), node});
    }
  }
}

}  // namespace detail

/// The files in `outputs`, the "outputs" object of a /history/{prompt_id} entry
/// (node id -> UI output), ordered by node id as text. Throws invalid_input if `outputs` is not an object
/// or a file record's subfolder or type is not text.
inline std::vector<artifact> artifacts_from_history(const nlohmann::json& outputs) {
  if (!outputs.is_object()) {
    throw invalid_input("outputs", "is " + std::string(outputs.type_name()) +
                                       ", but a history entry's outputs are an object of node id -> UI output; pass "
                                       "entry[\"outputs\"] of GET /history/{prompt_id}");
  }
  std::vector<artifact> files;
  for (const auto& [node, ui_output] : outputs.items()) {
    detail::collect_files(ui_output, node, "outputs." + detail::printable(node), files);
  }
  return files;
}

/// The files in one WebSocket `executed` message, given its "data": {node, display_node, output,
/// prompt_id}. Throws invalid_input if "node" is not text or "output" not an object.
inline std::vector<artifact> artifacts_from_executed(const nlohmann::json& data) {
  const auto node = data.find("node");
  if (node == data.end() || !node->is_string()) {
    throw invalid_input("executed.node", "is missing or not text; pass the \"data\" object of an executed message, "
                                         "{\"node\": ..., \"output\": {...}, \"prompt_id\": ...}");
  }
  const auto output = data.find("output");
  if (output == data.end() || !output->is_object()) {
    throw invalid_input("executed.output", "is missing or not an object; pass the \"data\" object of an "
                                           "executed message, {\"node\": ..., \"output\": {...}, \"prompt_id\": ...}");
  }
  std::vector<artifact> files;
  detail::collect_files(*output, node->get<std::string>(), "executed.output", files);
  return files;
}

}  // namespace comfyq
