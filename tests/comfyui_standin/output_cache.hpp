#pragma once
// ComfyUI's default ("classic") output cache: a node's outputs are kept under a signature
// of its class, its literal inputs and, recursively, the signatures of the nodes it links
// to. A node whose signature matches is not run again (an identical resubmission runs
// nothing and re-announces the old files). Only the latest prompt's nodes stay cached.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "comfyui_standin/folders.hpp"
#include "comfyui_standin/node_catalog.hpp"
#include "comfyui_standin/node_simulation.hpp"
#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

struct cached_node {
  std::vector<json> outputs{};
  std::optional<json> ui{};
};

class output_cache {
 public:
  /// Computes the signatures of `prompt`'s nodes and forgets entries no node of it has.
  void set_prompt(const json& prompt, const node_catalog& catalog, const standin_folders& folders) {
    signatures_.clear();
    for (const auto& [id, node] : prompt.items()) signature(prompt, id, catalog, folders);
    std::map<std::string, cached_node> kept;
    for (const auto& [id, sig] : signatures_) {
      if (auto found = entries_.find(sig); found != entries_.end()) kept.insert(*found);
    }
    entries_ = std::move(kept);
  }

  const cached_node* find(const std::string& node_id) const {
    const auto found = entries_.find(signatures_.at(node_id));
    return found == entries_.end() ? nullptr : &found->second;
  }

  void store(const std::string& node_id, cached_node node) { entries_[signatures_.at(node_id)] = std::move(node); }

  /// Forgets everything (a restarted server starts cold).
  void clear() {
    entries_.clear();
    signatures_.clear();
  }

 private:
  const std::string& signature(const json& prompt, const std::string& id, const node_catalog& catalog,
                               const standin_folders& folders) {
    if (auto found = signatures_.find(id); found != signatures_.end()) return found->second;
    signatures_[id] = "unfinished:" + id;  // ends a link cycle among nodes no output needs
    const json& node = prompt.at(id);
    const std::string class_type = node.at("class_type").get<std::string>();
    const json inputs = node.value("inputs", json::object());  // nodes no output needs go unvalidated
    json parts = json::array({class_type});
    for (const auto& [name, value] : inputs.items()) {
      const bool link = value.is_array() && value.size() == 2 && value.at(0).is_string() &&
                        prompt.contains(value.at(0).get<std::string>());
      parts.push_back(json::array(
          {name, link ? json::array({signature(prompt, value.at(0).get<std::string>(), catalog, folders), value.at(1)})
                      : value}));
    }
    const node_class* cls = catalog.find(class_type);
    // IS_CHANGED: an upload node changes with its file; some nodes change every time.
    if (const std::string upload = upload_input(*cls); !upload.empty() && inputs.contains(upload)) {
      const std::string path = folders.upload_path(python_str(inputs.at(upload)));
      parts.push_back(std::to_string(std::hash<std::string>{}(simulation_detail::read_file(path))));
    }
    if (never_cached(class_type)) parts.push_back(++uncacheable_runs_);
    return signatures_[id] = python_dumps(parts);
  }

  std::map<std::string, std::string> signatures_;  // node id -> signature, this prompt
  std::map<std::string, cached_node> entries_;     // signature -> outputs
  unsigned long long uncacheable_runs_{0};
};

}  // namespace comfyq::testing::standin
