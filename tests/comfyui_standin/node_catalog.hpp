#pragma once
// The node classes the stand-in knows: exactly those in a recorded GET /object_info
// (ComfyUI 0.8.0, 440 classes). A class outside it is "unknown", as on the recorded server.

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

struct input_spec {
  std::string name{};
  json type{};     // "INT", "IMAGE", ... or a list of choices (a combo)
  json options{};  // the input's option object ({} when the definition has none)
  bool required{};
};

struct node_class {
  std::string name{};
  std::string category{};
  std::vector<input_spec> inputs{};  // required then optional, in input_order
  std::vector<json> return_types{};
  std::vector<std::string> output_names{};
  bool output_node{};
  bool hidden_prompt{};  // has the hidden PROMPT / EXTRA_PNGINFO inputs save nodes use
};

class node_catalog {
 public:
  /// The catalog in the GET /object_info body at `path`, parsed once per path and process.
  static std::shared_ptr<const node_catalog> load(const std::string& path) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<const node_catalog>> loaded;
    const std::lock_guard lock(mutex);
    auto& slot = loaded[path];
    if (!slot) {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw std::runtime_error("comfyui-standin: cannot read the object_info file " + path);
      slot = std::make_shared<const node_catalog>(json::parse(in));
    }
    return slot;
  }

  explicit node_catalog(json object_info) : object_info_(std::move(object_info)) {
    for (const auto& [name, info] : object_info_.items()) classes_.emplace(name, parse_class(name, info));
  }

  const node_class* find(std::string_view class_type) const {
    const auto found = classes_.find(class_type);
    return found == classes_.end() ? nullptr : &found->second;
  }

  /// The recorded definitions, as GET /object_info serves them.
  const json& object_info() const { return object_info_; }

 private:
  static node_class parse_class(const std::string& name, const json& info) {
    node_class cls;
    cls.name = name;
    cls.category = info.value("category", "");
    cls.output_node = info.value("output_node", false);
    const json& inputs = info.at("input");
    for (const char* section : {"required", "optional"}) {
      if (!inputs.contains(section)) continue;
      const json& definitions = inputs.at(section);
      json order = info.contains("input_order") && info.at("input_order").contains(section)
                       ? info.at("input_order").at(section)
                       : json::array();
      if (order.empty()) {
        for (const auto& [input_name, unused] : definitions.items()) order.push_back(input_name);
      }
      for (const auto& input_name : order) {
        const json& definition = definitions.at(input_name.get<std::string>());
        cls.inputs.push_back(input_spec{
            .name = input_name.get<std::string>(),
            .type = definition.at(0),
            .options = definition.size() > 1 && definition.at(1).is_object() ? definition.at(1) : json::object(),
            .required = std::string_view(section) == "required",
        });
      }
    }
    if (inputs.contains("hidden")) cls.hidden_prompt = inputs.at("hidden").contains("prompt");
    for (const auto& type : info.value("output", json::array())) cls.return_types.push_back(type);
    for (const auto& output_name : info.value("output_name", json::array())) {
      cls.output_names.push_back(output_name.is_string() ? output_name.get<std::string>() : "");
    }
    return cls;
  }

  json object_info_;
  std::map<std::string, node_class, std::less<>> classes_;
};

}  // namespace comfyq::testing::standin
