#pragma once
// ComfyUI's progress_state message: the cumulative state of every node that has started (or,
// for a cached output node, finished) in one prompt. A node starts at 0.0/1.0 (floats), takes
// the value/max of its progress reports, and finishes at value = max.

#include <string>
#include <utility>

#include "comfyq/comfyui/python_text.hpp"
#include "comfyq/comfyui/ws_frames.hpp"

namespace comfyq::comfyui {

class progress_state {
 public:
  explicit progress_state(std::string prompt_id) : prompt_id_(std::move(prompt_id)) {}

  void start(const std::string& node_id) { set(node_id, 0.0, 1.0, "running"); }

  void update(const std::string& node_id, const ordered_json& value, const ordered_json& max) {
    set(node_id, value, max, "running");
  }

  void finish(const std::string& node_id) {
    if (!nodes_.contains(node_id)) set(node_id, 1, 1, "finished");
    ordered_json& entry = nodes_.at(node_id);
    entry["value"] = entry.at("max");
    entry["state"] = "finished";
  }

  bool empty() const { return nodes_.empty(); }

  std::string frame() const {
    return text_frame("progress_state", ordered_json{{"prompt_id", prompt_id_}, {"nodes", nodes_}});
  }

 private:
  void set(const std::string& node_id, const ordered_json& value, const ordered_json& max, const char* state) {
    nodes_[node_id] = ordered_json{{"value", value},
                                   {"max", max},
                                   {"state", state},
                                   {"node_id", node_id},
                                   {"prompt_id", prompt_id_},
                                   {"display_node_id", node_id},
                                   {"parent_node_id", nullptr},
                                   {"real_node_id", node_id}};
  }

  std::string prompt_id_;
  ordered_json nodes_ = ordered_json::object();
};

}  // namespace comfyq::comfyui
