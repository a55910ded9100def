#pragma once
// comfyq's jobs as ComfyUI shows its prompts: a queue item ([number, prompt_id, prompt,
// extra_data, outputs_to_execute]) and a history entry ({prompt, outputs, status, meta}), for
// the per-tenant ComfyUI API (comfyui_api.hpp). An output is named to ComfyUI's clients as
// {filename, subfolder: "<job>[/<folder>]", type: "output"}, which that API's GET /view serves.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/comfyui/node_catalog.hpp"
#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/model.hpp"

namespace comfyq::server {

/// The output nodes of `graph` (those ComfyUI runs), by `catalog`; in the graph's order.
inline comfyui::ordered_json output_nodes_of(const comfyui::ordered_json& graph, const comfyui::node_catalog& catalog) {
  comfyui::ordered_json outputs = comfyui::ordered_json::array();
  if (!graph.is_object()) return outputs;
  for (const auto& [id, node] : graph.items()) {
    if (!node.is_object() || !node.contains("class_type") || !node["class_type"].is_string()) continue;
    const comfyui::node_class* cls = catalog.find(node["class_type"].get<std::string>());
    if (cls != nullptr && cls->output_node) outputs.push_back(id);
  }
  return outputs;
}

/// [number, prompt_id, prompt, extra_data, outputs_to_execute], as GET /queue and history show a
/// prompt; extra_data holds the `client_id` it came with, if known, and its create_time.
inline comfyui::ordered_json comfyui_queue_item(const job& j, const comfyui::node_catalog& catalog,
                                                std::string_view client_id = {}) {
  comfyui::ordered_json graph = comfyui::ordered_json::parse(j.workflow, nullptr, false);
  if (graph.is_discarded()) graph = comfyui::ordered_json::object();
  comfyui::ordered_json outputs = output_nodes_of(graph, catalog);
  comfyui::ordered_json extra = comfyui::ordered_json::object();
  if (!client_id.empty()) extra["client_id"] = client_id;
  extra["create_time"] = j.submitted_at.time_since_epoch().count();
  return comfyui::ordered_json::array({j.seq, j.id, std::move(graph), std::move(extra), std::move(outputs)});
}

/// Whether ComfyUI would keep `j` in its history: it ran, and ended.
inline bool in_comfyui_history(const job& j) {
  return j.state == job_state::succeeded || j.state == job_state::failed || j.state == job_state::dead ||
         (j.state == job_state::cancelled && j.attempt > 0);
}

/// The UI record of one output, as ComfyUI's `executed` message and history give it.
inline comfyui::ordered_json comfyui_file_record(const job& j, const manifest_entry& output) {
  const std::size_t slash = output.name.rfind('/');
  const std::string folder = slash == std::string::npos ? "" : "/" + output.name.substr(0, slash);
  return {{"filename", slash == std::string::npos ? output.name : output.name.substr(slash + 1)},
          {"subfolder", j.id + folder},
          {"type", "output"}};
}

/// The key ComfyUI's UI output keeps files of this media type under.
inline std::string_view comfyui_output_key(std::string_view media_type) {
  if (media_type.starts_with("image/") || media_type.starts_with("video/")) return "images";
  if (media_type.starts_with("audio/")) return "audio";
  if (media_type.starts_with("model/")) return "3d";
  return "files";
}

/// {node: UI output}: what each of `j`'s output nodes showed, as its `executed` message and
/// history give it.
inline comfyui::ordered_json comfyui_outputs(const job& j) {
  comfyui::ordered_json outputs = comfyui::ordered_json::object();
  for (const manifest_entry& output : j.outputs) {
    outputs[output.node][std::string(comfyui_output_key(output.media_type))].push_back(comfyui_file_record(j, output));
  }
  return outputs;
}

/// The class of node `node` in `j`'s workflow; "" when it has none.
inline std::string comfyui_node_class(const job& j, std::string_view node) {
  const comfyui::ordered_json graph = comfyui::ordered_json::parse(j.workflow, nullptr, false);
  if (!graph.is_object()) return {};
  const auto found = graph.find(std::string(node));
  if (found == graph.end() || !found->is_object()) return {};
  const auto type = found->find("class_type");
  return type != found->end() && type->is_string() ? type->get<std::string>() : std::string();
}

/// The data of ComfyUI's execution_error message: the prompt failed at `node` (of class
/// `node_type`) after the nodes `executed`, for `reason`.
inline comfyui::ordered_json comfyui_execution_error(std::string_view prompt_id, std::string_view node,
                                                     std::string_view node_type, comfyui::ordered_json executed,
                                                     std::string_view reason, time_point at) {
  return {{"prompt_id", prompt_id},
          {"node_id", node},
          {"node_type", node_type},
          {"executed", std::move(executed)},
          {"exception_message", reason},
          {"exception_type", ""},
          {"traceback", comfyui::ordered_json::array()},
          {"current_inputs", comfyui::ordered_json::object()},
          {"current_outputs", comfyui::ordered_json::array()},
          {"timestamp", at.time_since_epoch().count()}};
}

/// The data of ComfyUI's execution_interrupted message: the prompt stopped at `node`.
inline comfyui::ordered_json comfyui_interruption(std::string_view prompt_id, std::string_view node,
                                                  std::string_view node_type, comfyui::ordered_json executed,
                                                  time_point at) {
  return {{"prompt_id", prompt_id},
          {"node_id", node},
          {"node_type", node_type},
          {"executed", std::move(executed)},
          {"timestamp", at.time_since_epoch().count()}};
}

/// {prompt, outputs, status, meta}: `j` as GET /history shows a finished prompt.
inline comfyui::ordered_json comfyui_history_entry(const job& j, const comfyui::node_catalog& catalog,
                                                   std::string_view client_id = {}) {
  comfyui::ordered_json outputs = comfyui_outputs(j);
  comfyui::ordered_json meta = comfyui::ordered_json::object();
  for (const auto& [node, shown] : outputs.items()) {
    meta[node] = {{"node_id", node}, {"display_node", node}, {"parent_node", nullptr}, {"real_node_id", node}};
  }
  const auto at = [](time_point t) { return t.time_since_epoch().count(); };
  comfyui::ordered_json messages = comfyui::ordered_json::array(
      {comfyui::ordered_json::array({"execution_start", {{"prompt_id", j.id}, {"timestamp", at(j.started_at)}}}),
       comfyui::ordered_json::array({"execution_cached", {{"nodes", comfyui::ordered_json::array()},
                                                          {"prompt_id", j.id},
                                                          {"timestamp", at(j.started_at)}}})});
  const bool succeeded = j.state == job_state::succeeded;
  if (succeeded) {
    messages.push_back(comfyui::ordered_json::array({"execution_success", {{"prompt_id", j.id}, {"timestamp", at(j.finished_at)}}}));
  } else if (j.state == job_state::cancelled) {
    messages.push_back(comfyui::ordered_json::array(
        {"execution_interrupted", comfyui_interruption(j.id, {}, {}, comfyui::ordered_json::array(), j.finished_at)}));
  } else {
    messages.push_back(comfyui::ordered_json::array(
        {"execution_error", comfyui_execution_error(j.id, {}, {}, comfyui::ordered_json::array(), j.reason, j.finished_at)}));
  }
  return {{"prompt", comfyui_queue_item(j, catalog, client_id)},
          {"outputs", std::move(outputs)},
          {"status", {{"status_str", succeeded ? "success" : "error"}, {"completed", succeeded}, {"messages", std::move(messages)}}},
          {"meta", std::move(meta)}};
}

}  // namespace comfyq::server
