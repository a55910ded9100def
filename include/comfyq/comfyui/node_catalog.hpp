#pragma once
// The node classes a ComfyUI has, read from its GET /object_info: what each takes (inputs in
// input_order, with their types and options), what it returns, and whether it is an output
// node. Prompt validation (prompt_validation.hpp) checks a graph against it; a class outside it
// is "unknown", as on that ComfyUI.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comfyq/comfyui/python_text.hpp"

namespace comfyq::comfyui {

struct input_spec {
  std::string name{};
  ordered_json type{};     ///< "INT", "IMAGE", ... or a list of choices (a combo)
  ordered_json options{};  ///< the input's option object ({} when the definition has none)
  bool required{};
};

struct node_class {
  std::string name{};
  std::string category{};
  std::vector<input_spec> inputs{};  // required then optional, in input_order
  std::vector<ordered_json> return_types{};
  std::vector<std::string> output_names{};
  bool output_node{};
  bool hidden_prompt{};  // has the hidden PROMPT / EXTRA_PNGINFO inputs save nodes use
};

class node_catalog {
 public:
  explicit node_catalog(ordered_json object_info) : object_info_(std::move(object_info)) {
    for (const auto& [name, info] : object_info_.items()) classes_.emplace(name, parse_class(name, info));
  }

  const node_class* find(std::string_view class_type) const {
    const auto found = classes_.find(class_type);
    return found == classes_.end() ? nullptr : &found->second;
  }

  /// The definitions it was read from, as GET /object_info serves them.
  const ordered_json& object_info() const { return object_info_; }

 private:
  static node_class parse_class(const std::string& name, const ordered_json& info) {
    node_class cls;
    cls.name = name;
    cls.category = info.value("category", "");
    cls.output_node = info.value("output_node", false);
    const ordered_json& inputs = info.at("input");
    for (const char* section : {"required", "optional"}) {
      if (!inputs.contains(section)) continue;
      const ordered_json& definitions = inputs.at(section);
      ordered_json order = info.contains("input_order") && info.at("input_order").contains(section)
                       ? info.at("input_order").at(section)
                       : ordered_json::array();
      if (order.empty()) {
        for (const auto& [input_name, unused] : definitions.items()) order.push_back(input_name);
      }
      for (const auto& input_name : order) {
        const ordered_json& definition = definitions.at(input_name.get<std::string>());
        cls.inputs.push_back(input_spec{
            .name = input_name.get<std::string>(),
            .type = definition.at(0),
            .options = definition.size() > 1 && definition.at(1).is_object() ? definition.at(1) : ordered_json::object(),
            .required = std::string_view(section) == "required",
        });
      }
    }
    if (inputs.contains("hidden")) cls.hidden_prompt = inputs.at("hidden").contains("prompt");
    for (const auto& type : info.value("output", ordered_json::array())) cls.return_types.push_back(type);
    for (const auto& output_name : info.value("output_name", ordered_json::array())) {
      cls.output_names.push_back(output_name.is_string() ? output_name.get<std::string>() : "");
    }
    return cls;
  }

  ordered_json object_info_;
  std::map<std::string, node_class, std::less<>> classes_;
};

}  // namespace comfyq::comfyui
