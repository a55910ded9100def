#pragma once
// Tagging: before a job runs, every save node's prefix is moved under the attempt's folder,
// comfyq/<tenant>/<job>/<attempt>/<sanitized original prefix>, so that each file ComfyUI writes
// names the job and attempt that wrote it (see attribution.hpp for the reverse direction).
// A fresh prefix per attempt also defeats ComfyUI's cache, which would otherwise re-announce an
// earlier job's file for an identical graph instead of saving a new one.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "comfyq/detail/prefix_sanitizer.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/output_folder.hpp"
#include "comfyq/workflow.hpp"

namespace comfyq {

/// Which inputs of a save node decide where its files go.
struct output_prefix_rule {
  std::string_view class_type;    ///< node class the rule is for; empty for the generic rule
  std::string_view folder_input;  ///< path prefix ("folder/name"): moved under the attempt's folder
  std::string_view name_input;    ///< bare file name prefix inside that folder, or empty if none
};

/// Any node with a `filename_prefix` input, custom nodes included: ComfyUI's save nodes all
/// resolve it relative to the output directory.
inline constexpr output_prefix_rule generic_prefix_rule{"", "filename_prefix", ""};

/// Save nodes of ComfyUI 0.8.0 whose folder comes from another input. The dataset savers join
/// `folder_name` to the output directory and write `filename_prefix` inside it as a plain name.
inline constexpr std::array<output_prefix_rule, 4> known_prefix_rules{{
    {"SaveLoRA", "prefix", ""},
    {"SaveTrainingDataset", "folder_name", ""},
    {"SaveImageDataSetToFolder", "folder_name", "filename_prefix"},
    {"SaveImageTextDataSetToFolder", "folder_name", "filename_prefix"},
}};

/// The rule for `node` (an API-format node), or nullopt if it saves nothing comfyq knows of.
inline std::optional<output_prefix_rule> prefix_rule_for(const nlohmann::json& node) {
  if (!node.is_object()) return std::nullopt;
  const auto class_type = node.find("class_type");
  if (class_type != node.end() && class_type->is_string()) {
    for (const auto& rule : known_prefix_rules) {
      if (class_type->get_ref<const std::string&>() == rule.class_type) return rule;
    }
  }
  const auto inputs = node.find("inputs");
  if (inputs != node.end() && inputs->is_object() && inputs->contains(generic_prefix_rule.folder_input)) {
    return generic_prefix_rule;
  }
  return std::nullopt;
}

/// True if some node of `graph` saves files into the job's folder; a preview-only workflow
/// produces nothing comfyq can attribute or keep.
inline bool has_save_node(const nlohmann::json& graph) {
  if (!graph.is_object()) return false;
  for (const auto& node : graph) {
    if (prefix_rule_for(node)) return true;
  }
  return false;
}

namespace detail {

/// The literal text of a prefix input, or invalid_input saying why comfyq cannot use it.
inline const std::string& literal_prefix(const nlohmann::json& inputs, std::string_view node_id,
                                         std::string_view input) {
  const std::string field = workflow_field(node_id, "inputs." + printable(input));
  const auto value = inputs.find(input);
  if (value == inputs.end()) {
    throw invalid_input(field, "is missing; this save node needs it to know where to write, e.g. \"ComfyUI\"");
  }
  if (value->is_array()) {
    throw invalid_input(field, "is connected to another node, but comfyq needs a literal prefix to tell whose "
                               "files this node writes; type the prefix into the node instead of linking it");
  }
  if (!value->is_string()) {
    throw invalid_input(field, "is " + std::string(value->type_name()) + ", but a prefix is text, e.g. \"ComfyUI\"");
  }
  return value->get_ref<const std::string&>();
}

}  // namespace detail

/// Rewrites every save node's prefix of `graph` to comfyq/<tenant>/<job>/<attempt>/<sanitized
/// original> (see detail/prefix_sanitizer.hpp for what survives sanitizing). Throws
/// invalid_input for an invalid tenant, job or attempt 0, for a graph validate_workflow
/// rejects, and for a prefix that is not literal text; `graph` is unchanged when it throws.
inline void tag_outputs(nlohmann::json& graph, std::string_view tenant, std::string_view job, std::uint32_t attempt) {
  const std::string folder = attempt_folder(tenant, job, attempt);
  validate_workflow(graph);
  nlohmann::json tagged = graph;
  for (auto& [id, node] : tagged.items()) {
    const auto rule = prefix_rule_for(node);
    if (!rule) continue;
    auto& inputs = node["inputs"];
    const std::string& prefix = detail::literal_prefix(inputs, id, rule->folder_input);
    inputs[std::string(rule->folder_input)] = folder + "/" + detail::sanitize_prefix(prefix);
    if (!rule->name_input.empty()) {
      const std::string& name = detail::literal_prefix(inputs, id, rule->name_input);
      inputs[std::string(rule->name_input)] = detail::sanitize_file_prefix(name);
    }
  }
  graph = std::move(tagged);
}

}  // namespace comfyq
