#pragma once
// The read-only discovery routes: /system_stats, /features, /object_info[/{class}],
// /embeddings, /extensions, /models[/{folder}]. Node definitions come from the recorded
// /object_info; LoadImage-style upload lists show the files in the input folder, as live.

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "comfyui_standin/http_messages.hpp"
#include "comfyui_standin/node_simulation.hpp"
#include "comfyui_standin/server_state.hpp"

namespace comfyq::testing::standin {

namespace discovery_detail {

inline const std::vector<std::string>& model_folders() {
  static const std::vector<std::string> folders{
      "checkpoints",   "configs",      "loras",           "vae",          "text_encoders",  "diffusion_models",
      "clip_vision",   "style_models", "embeddings",      "diffusers",    "vae_approx",     "controlnet",
      "gligen",        "upscale_models", "latent_upscale_models", "custom_nodes", "hypernetworks", "photomaker",
      "classifiers",   "model_patches", "audio_encoders"};
  return folders;
}

/// The image files directly in the input folder, sorted (LoadImage's choices).
inline json input_images(const standin_folders& folders) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folders.input, error)) {
    const std::string extension = entry.path().extension().string();
    if (entry.is_regular_file(error) &&
        (extension == ".png" || extension == ".jpg" || extension == ".jpeg" || extension == ".webp" ||
         extension == ".gif" || extension == ".bmp")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// A class definition as /object_info serves it now.
inline json live_definition(const server_context& context, const node_class& cls) {
  json definition = context.catalog.object_info().at(cls.name);
  if (const std::string upload = upload_input(cls); !upload.empty()) {
    json& input = definition["input"]["required"].contains(upload) ? definition["input"]["required"][upload]
                                                                   : definition["input"]["optional"][upload];
    input[0] = input_images(context.folders);
  }
  return definition;
}

}  // namespace discovery_detail

inline http_response get_system_stats(const http_request& request) {
  constexpr long long memory = 34359738368;  // a plausible 32 GiB, like a real host reports
  return json_response(
      request,
      json{{"system",
            {{"os", "linux"},
             {"ram_total", memory},
             {"ram_free", memory / 2},
             {"comfyui_version", "0.8.0"},
             {"required_frontend_version", "1.35.9"},
             {"installed_templates_version", nullptr},
             {"required_templates_version", "0.7.67"},
             {"python_version", "3.11.2 (comfyui-standin)"},
             {"pytorch_version", "none (comfyui-standin)"},
             {"embedded_python", false},
             {"argv", json::array({"comfyui-standin"})}}},
           {"devices", json::array({json{{"name", "cpu"},
                                         {"type", "cpu"},
                                         {"index", nullptr},
                                         {"vram_total", memory},
                                         {"vram_free", memory / 2},
                                         {"torch_vram_total", memory},
                                         {"torch_vram_free", memory / 2}}})}});
}

inline http_response get_object_info(const server_context& context, const http_request& request) {
  json all = json::object();
  for (const auto& [name, definition] : context.catalog.object_info().items()) {
    all[name] = discovery_detail::live_definition(context, *context.catalog.find(name));
  }
  return json_response(request, all);
}

inline http_response get_object_info_class(const server_context& context, const http_request& request,
                                           const std::string& class_type) {
  json out = json::object();
  if (const node_class* cls = context.catalog.find(class_type)) {
    out[class_type] = discovery_detail::live_definition(context, *cls);
  }
  return json_response(request, out);
}

inline http_response get_models(const http_request& request) {
  return json_response(request, discovery_detail::model_folders());
}

/// GET /models/{folder}: no model files here; an unknown folder is a 404.
inline http_response get_model_folder(const http_request& request, const std::string& folder) {
  const auto& folders = discovery_detail::model_folders();
  if (std::find(folders.begin(), folders.end(), folder) == folders.end()) return not_found(request);
  return json_response(request, json::array());
}

}  // namespace comfyq::testing::standin
