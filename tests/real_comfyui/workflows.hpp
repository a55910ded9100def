#pragma once
// Workflows that run on a real ComfyUI without model weights (shared/comfyui-real/README.md).
// ComfyUI caches node results, and a prompt identical to an earlier one finishes at once
// without running: every graph gets a colour no other graph of this process has.

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace comfyq::testing::real {

/// A colour (0xRRGGBB) no earlier call in this process returned: an odd multiplier is a
/// bijection modulo 2^24.
inline std::uint32_t unique_colour() {
  static std::atomic<std::uint32_t> calls{0};
  return (++calls * 0x9E3779u) & 0xFFFFFFu;
}

/// EmptyImage "1" (64x64) -> ImageInvert "2" -> SaveImage "3" saving under `prefix`: ~50 ms.
inline nlohmann::json invert_graph(const std::string& prefix) {
  return {
      {"1", {{"class_type", "EmptyImage"},
             {"inputs", {{"width", 64}, {"height", 64}, {"batch_size", 1}, {"color", unique_colour()}}}}},
      {"2", {{"class_type", "ImageInvert"}, {"inputs", {{"image", {"1", 0}}}}}},
      {"3", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"2", 0}}, {"filename_prefix", prefix}}}}},
  };
}

/// EmptyImage "1" (512x512) -> ImageBlur "2" (radius 31) -> SaveImage "3": 5-13 s on 2 idle cores,
/// long enough to cancel, kill or restart something while ImageBlur runs.
inline nlohmann::json blocker_graph(const std::string& prefix) {
  return {
      {"1", {{"class_type", "EmptyImage"},
             {"inputs", {{"width", 512}, {"height", 512}, {"batch_size", 1}, {"color", unique_colour()}}}}},
      {"2", {{"class_type", "ImageBlur"}, {"inputs", {{"image", {"1", 0}}, {"blur_radius", 31}, {"sigma", 1.0}}}}},
      {"3", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"2", 0}}, {"filename_prefix", prefix}}}}},
  };
}

/// A node class ComfyUI does not have, feeding a SaveImage: ComfyUI refuses it at POST /prompt.
inline nlohmann::json unknown_node_graph(const std::string& prefix) {
  return {
      {"1", {{"class_type", "NoSuchNode"}, {"inputs", {{"seed", unique_colour()}}}}},
      {"2", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"1", 0}}, {"filename_prefix", prefix}}}}},
  };
}

/// The invert workflow as ComfyUI's web UI saves it (Workflow > Save): nodes with widget values
/// and a list of links, which ComfyUI's API cannot run.
inline nlohmann::json ui_format_workflow(const std::string& prefix) {
  const auto node = [](int id, const char* type, nlohmann::json inputs, nlohmann::json outputs, nlohmann::json widgets) {
    return nlohmann::json{{"id", id},         {"type", type},       {"pos", {100 * id, 100}}, {"size", {315, 106}},
                          {"flags", nlohmann::json::object()},       {"order", id - 1},       {"mode", 0},
                          {"inputs", inputs}, {"outputs", outputs}, {"properties", {{"Node name for S&R", type}}},
                          {"widgets_values", widgets}};
  };
  const auto image_out = [](nlohmann::json links) {
    return nlohmann::json::array({{{"name", "IMAGE"}, {"type", "IMAGE"}, {"links", links}}});
  };
  const auto image_in = [](const char* name, int link) {
    return nlohmann::json::array({{{"name", name}, {"type", "IMAGE"}, {"link", link}}});
  };
  return {
      {"id", "3f0c5d2e-8a4b-4c1e-9d7f-2b6a1e0c4d55"},
      {"revision", 0},
      {"last_node_id", 3},
      {"last_link_id", 2},
      {"nodes",
       {node(1, "EmptyImage", nlohmann::json::array(), image_out({1}), {64, 64, 1, unique_colour()}),
        node(2, "ImageInvert", image_in("image", 1), image_out({2}), nlohmann::json::array()),
        node(3, "SaveImage", image_in("images", 2), nlohmann::json::array(), {prefix})}},
      {"links", {{1, 1, 0, 2, 0, "IMAGE"}, {2, 2, 0, 3, 0, "IMAGE"}}},
      {"groups", nlohmann::json::array()},
      {"config", nlohmann::json::object()},
      {"extra", {{"ds", {{"scale", 1}, {"offset", {0, 0}}}}}},
      {"version", 0.4},
  };
}

}  // namespace comfyq::testing::real
