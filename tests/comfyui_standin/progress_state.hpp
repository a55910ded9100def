#pragma once
// The progress_state message: the cumulative state of every node that has started (or,
// for a cached output node, finished) in this prompt. A node starts at 0.0/1.0 (floats),
// takes the integer value/max of its progress reports, and finishes at value = max.

#include <string>

#include "comfyui_standin/python_text.hpp"
#include "comfyui_standin/ws_frames.hpp"

namespace comfyq::testing::standin {

class progress_state {
 public:
  explicit progress_state(std::string prompt_id) : prompt_id_(std::move(prompt_id)) {}

  void start(const std::string& node_id) { set(node_id, 0.0, 1.0, "running"); }

  void update(const std::string& node_id, const json& value, const json& max) { set(node_id, value, max, "running"); }

  void finish(const std::string& node_id) {
    if (!nodes_.contains(node_id)) set(node_id, 1, 1, "finished");
    json& entry = nodes_.at(node_id);
    entry["value"] = entry.at("max");
    entry["state"] = "finished";
  }

  std::string frame() const { return text_frame("progress_state", json{{"prompt_id", prompt_id_}, {"nodes", nodes_}}); }

 private:
  void set(const std::string& node_id, const json& value, const json& max, const char* state) {
    nodes_[node_id] = json{{"value", value},
                           {"max", max},
                           {"state", state},
                           {"node_id", node_id},
                           {"prompt_id", prompt_id_},
                           {"display_node_id", node_id},
                           {"parent_node_id", nullptr},
                           {"real_node_id", node_id}};
  }

  std::string prompt_id_;
  json nodes_ = json::object();
};

}  // namespace comfyq::testing::standin
