#pragma once
// API-format workflows: the structural checks comfyq makes before accepting one, and the shape
// key that groups runtimes for cost estimates.
//
// Only structure is checked here. Whether a class exists, whether an input is required and
// whether an output slot exists depend on the ComfyUI instance (its /object_info), so ComfyUI's
// own validation still has the last word.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "comfyq/detail/fnv1a.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"

namespace comfyq {

namespace detail {

/// "workflow.<node>" plus `rest`, the field name errors about a node carry.
inline std::string workflow_field(std::string_view node_id, std::string_view rest = {}) {
  std::string field = "workflow." + printable(node_id);
  if (!rest.empty()) {
    field += '.';
    field += rest;
  }
  return field;
}

/// `value` as JSON text for an error message: short, and never throwing on invalid UTF-8.
inline std::string json_text(const nlohmann::json& value) {
  return printable(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/// The node id a (validated) link points at; ComfyUI keys nodes by string, some tools write integers.
inline std::string link_source(const nlohmann::json& link) {
  const auto& source = link.at(0);
  return source.is_string() ? source.get<std::string>() : source.dump();
}

inline void validate_link(const nlohmann::json& graph, const nlohmann::json& link, const std::string& field) {
  if (link.size() != 2) {
    throw invalid_input(field, "is a list of " + std::to_string(link.size()) +
                                   " items, but a list input is a link [source node id, output index], e.g. [\"1\", 0]; "
                                   "connect the input in ComfyUI and export again");
  }
  const auto& source = link[0];
  if (!source.is_string() && !source.is_number_integer()) {
    throw invalid_input(field, "links from " + json_text(source) + ", which is not a node id; write the source node's id "
                                   "as a string, e.g. [\"1\", 0]");
  }
  const std::string source_id = link_source(link);
  if (!graph.contains(source_id)) {
    throw invalid_input(field, "links to node '" + printable(source_id) +
                                   "', which is not in the workflow; connect the input to an existing node or export "
                                   "the workflow again");
  }
  const auto& index = link[1];
  if (!index.is_number_integer() || (!index.is_number_unsigned() && index.get<std::int64_t>() < 0)) {
    throw invalid_input(field, "has output index " + json_text(index) +
                                   "; a link's second item is the source node's output slot, a non-negative integer "
                                   "such as 0");
  }
}

inline void validate_node(const nlohmann::json& graph, const std::string& id, const nlohmann::json& node) {
  if (id.empty()) {
    throw invalid_input("workflow", "a node has an empty id; give every node a non-empty id such as \"1\"");
  }
  if (!node.is_object()) {
    throw invalid_input(workflow_field(id), "is " + std::string(node.type_name()) +
                                                ", but a node is an object {\"class_type\": ..., \"inputs\": {...}}; "
                                                "export the workflow again with \"Export (API)\"");
  }
  const auto class_type = node.find("class_type");
  if (class_type == node.end()) {
    throw invalid_input(workflow_field(id, "class_type"),
                        "is missing; every node names its node class, e.g. \"class_type\": \"SaveImage\"");
  }
  if (!class_type->is_string() || class_type->get_ref<const std::string&>().empty()) {
    throw invalid_input(workflow_field(id, "class_type"),
                        "must be a non-empty string naming the node class, e.g. \"SaveImage\"");
  }
  const auto inputs = node.find("inputs");
  if (inputs == node.end() || !inputs->is_object()) {
    throw invalid_input(workflow_field(id, "inputs"),
                        inputs == node.end() ? "is missing; every node needs an \"inputs\" object (it may be empty)"
                                             : "must be an object of input name -> value or link");
  }
  for (const auto& [name, value] : inputs->items()) {
    if (value.is_array()) validate_link(graph, value, workflow_field(id, "inputs." + printable(name)));
  }
}

}  // namespace detail

/// Throws invalid_input, naming the node and input, unless `graph` is a structurally valid
/// API-format workflow: a non-empty object of node id -> {"class_type", "inputs"} whose links
/// [source, index] name existing nodes.
inline void validate_workflow(const nlohmann::json& graph) {
  if (!graph.is_object()) {
    throw invalid_input("workflow", "is " + std::string(graph.type_name()) +
                                        ", but an API-format workflow is an object of node id -> node; "
                                        "use \"Export (API)\" in ComfyUI's Workflow menu");
  }
  const auto is_list = [&](const char* key) { return graph.contains(key) && graph[key].is_array(); };
  if (is_list("nodes") || is_list("links")) {
    throw invalid_input("workflow",
                        "is a UI-format workflow (it has a \"nodes\"/\"links\" list), which ComfyUI's API cannot run; "
                        "use \"Export (API)\" in ComfyUI's Workflow menu (older versions: enable Dev mode, then "
                        "\"Save (API Format)\") and submit that file");
  }
  if (graph.empty()) {
    throw invalid_input("workflow", "has no nodes; submit a workflow with at least one output node, e.g. SaveImage");
  }
  for (const auto& [id, node] : graph.items()) detail::validate_node(graph, id, node);
}

namespace detail {

/// Inputs whose numbers set how long a node runs: sampler steps, image size, batch size and
/// video length, as ComfyUI's core nodes and the common video nodes name them.
inline bool is_cost_input(std::string_view name) noexcept {
  for (std::string_view cost : {"steps", "width", "height", "batch_size", "length", "frames", "num_frames",
                                "frame_count", "video_frames"}) {
    if (name == cost) return true;
  }
  return false;
}

/// A cost-bearing number as a bucket of about ±20 %: 20 and 22 steps share one, 20 and 30 do
/// not, so that estimates are kept per size of work without a bucket per exact value.
inline std::string cost_bucket(const nlohmann::json& value) {
  const double v = value.get<double>();
  if (!(v > 0.0)) return "0";
  return std::to_string(std::lround(std::log2(v) * 2.0));
}

}  // namespace detail

/// A stable 16-hex-digit key of what a workflow costs to run: its structure (node ids, class
/// types, wiring) and its cost-bearing numbers (steps, width, height, batch size, video
/// length; bucketed, see detail::cost_bucket). Blind to every other literal: the same
/// workflow with another seed or prompt has the same shape, the same workflow at 4x the
/// frames does not. Estimates are kept per shape. Throws what validate_workflow throws.
inline std::string workflow_shape(const nlohmann::json& graph) {
  validate_workflow(graph);
  detail::fnv1a64 hash;
  // Counts before each list keep the encoding unambiguous; nlohmann::json objects iterate in
  // sorted key order, which makes the key independent of the order nodes were written in.
  hash.field(std::to_string(graph.size()));
  for (const auto& [id, node] : graph.items()) {
    hash.field(id);
    hash.field(node["class_type"].get_ref<const std::string&>());
    const auto& inputs = node["inputs"];
    std::size_t links = 0;
    for (const auto& value : inputs) links += value.is_array() ? 1u : 0u;
    hash.field(std::to_string(links));
    for (const auto& [name, value] : inputs.items()) {
      if (!value.is_array()) continue;
      hash.field(name);
      hash.field(detail::link_source(value));
      hash.field(value[1].dump());
    }
    for (const auto& [name, value] : inputs.items()) {
      if (!value.is_number() || !detail::is_cost_input(name)) continue;
      hash.field(name);
      hash.field(detail::cost_bucket(value));
    }
  }
  return hash.hex();
}

}  // namespace comfyq
