#pragma once
// The node classes the stand-in knows: exactly those in a recorded GET /object_info
// (ComfyUI 0.8.0, 440 classes), as comfyq/comfyui/node_catalog.hpp reads them. A class outside
// it is "unknown", as on the recorded server.

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "comfyq/comfyui/node_catalog.hpp"
#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

using comfyq::comfyui::input_spec;
using comfyq::comfyui::node_catalog;
using comfyq::comfyui::node_class;

/// The catalog in the GET /object_info body at `path`, parsed once per path and process.
inline std::shared_ptr<const node_catalog> load_catalog(const std::string& path) {
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

}  // namespace comfyq::testing::standin
