#pragma once
// The order nodes run in, as ComfyUI's ExecutionList picks it: the output nodes and, depth
// first, the uncached nodes they need; among the nodes that are ready, an output node
// first, then one an output node waits on, then one two steps before an output, else the
// oldest. Cached nodes are not run (an output node is always visited, to re-announce its UI).

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

class execution_order {
 public:
  using predicate = std::function<bool(const std::string& node_id)>;

  execution_order(const json& prompt, const std::vector<std::string>& outputs, predicate is_cached,
                  predicate is_output)
      : prompt_(prompt), is_cached_(std::move(is_cached)), is_output_(std::move(is_output)) {
    for (const auto& output : outputs) add_node(output);
  }

  /// The next node to run; nullopt when every node ran.
  std::optional<std::string> next() const {
    std::vector<std::string> ready;
    for (const auto& id : pending_) {
      if (block_count_.at(id) == 0) ready.push_back(id);
    }
    if (ready.empty()) return std::nullopt;
    for (const auto& id : ready) {
      if (is_output_(id)) return id;
    }
    for (const auto& id : ready) {
      for (const auto& blocked : blocking_.at(id)) {
        if (is_output_(blocked)) return id;
      }
    }
    for (const auto& id : ready) {
      for (const auto& blocked : blocking_.at(id)) {
        for (const auto& blocked_further : blocking_.at(blocked)) {
          if (is_output_(blocked_further)) return id;
        }
      }
    }
    return ready.front();
  }

  void complete(const std::string& node_id) {
    pending_.erase(std::find(pending_.begin(), pending_.end(), node_id));
    for (const auto& blocked : blocking_.at(node_id)) --block_count_.at(blocked);
  }

 private:
  static bool is_link(const json& value) {
    return value.is_array() && value.size() == 2 && value.at(0).is_string() && value.at(1).is_number_integer();
  }

  void add_node(const std::string& start) {
    struct link {
      std::string from;
      std::string to;
    };
    std::vector<std::string> stack{start};
    std::vector<link> links;
    while (!stack.empty()) {
      const std::string id = stack.back();
      stack.pop_back();
      if (std::find(pending_.begin(), pending_.end(), id) != pending_.end()) continue;
      pending_.push_back(id);
      block_count_[id] = 0;
      blocking_[id];
      for (const auto& [name, value] : prompt_.at(id).at("inputs").items()) {
        if (!is_link(value)) continue;
        const std::string from = value.at(0).get<std::string>();
        if (!is_cached_(from)) stack.push_back(from);
        links.push_back({from, id});
      }
    }
    for (const auto& [from, to] : links) {
      if (is_cached_(from)) continue;  // its output is already there: nothing to wait for
      add_node(from);
      auto& blocked = blocking_[from];
      if (std::find(blocked.begin(), blocked.end(), to) == blocked.end()) {
        blocked.push_back(to);
        ++block_count_[to];
      }
    }
  }

  const json& prompt_;
  predicate is_cached_;
  predicate is_output_;
  std::vector<std::string> pending_;                       // insertion order
  std::map<std::string, int> block_count_;                 // uncompleted nodes each waits for
  std::map<std::string, std::vector<std::string>> blocking_;  // node -> nodes waiting for it
};

}  // namespace comfyq::testing::standin
