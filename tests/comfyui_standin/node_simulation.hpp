#pragma once
// What a node does when the stand-in "executes" it. Images are descriptions (size, batch,
// one colour), not pixels; the nodes of the recordings behave as in ComfyUI (EmptyImage,
// ImageInvert, LoadImage, GetImageSize, PreviewAny, SaveImage, PreviewImage,
// SaveImageWebsocket), save nodes write real files named like ComfyUI's, sampler-like nodes
// report progress steps, and any other known class passes plausible values through.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "comfyui_standin/behaviour.hpp"
#include "comfyui_standin/folders.hpp"
#include "comfyui_standin/node_catalog.hpp"
#include "comfyui_standin/output_naming.hpp"
#include "comfyui_standin/png.hpp"
#include "comfyui_standin/python_text.hpp"

namespace comfyq::testing::standin {

struct node_call {
  std::string node_id{};
  const node_class* cls{};
  json inputs = json::object();  // literals, and for links the value the linked node produced
  const json* prompt{};          // the whole graph, for PNG metadata
  const json* extra_data{};
  const standin_folders* folders{};
  behaviour knobs{};
};

/// One progress report (ProgressBar.update_absolute) and the preview image that comes with it.
struct progress_step {
  json value{};
  json max{};
  std::optional<std::string> preview_png{};
};

struct node_outcome {
  std::vector<json> outputs{};          // one value per output slot
  std::optional<json> ui{};             // the "output" of the executed message
  std::vector<progress_step> steps{};   // played by the runner, spread over the node's delay
  bool steps_check_interrupt{};         // samplers stop at the next step when interrupted
  std::vector<std::string> progress_texts{};  // binary type-3 frames (GetImageSize)
};

namespace simulation_detail {

struct image_value {
  int width{512};
  int height{512};
  int batch{1};
  rgb_color color{128, 128, 128};
};

inline json to_json(const image_value& image, const char* kind = "image") {
  return json{{kind, {{"width", image.width}, {"height", image.height}, {"batch", image.batch},
                      {"rgb", {image.color.red, image.color.green, image.color.blue}}}}};
}

/// The image (or mask, or latent: a latent here carries the size of the image it decodes to).
inline std::optional<image_value> as_image(const json& value) {
  for (const char* kind : {"image", "mask", "latent"}) {
    if (!value.is_object() || !value.contains(kind)) continue;
    const json& v = value.at(kind);
    const json& rgb = v.at("rgb");
    return image_value{v.at("width").get<int>(), v.at("height").get<int>(), v.at("batch").get<int>(),
                       rgb_color{rgb.at(0).get<std::uint8_t>(), rgb.at(1).get<std::uint8_t>(),
                                 rgb.at(2).get<std::uint8_t>()}};
  }
  return std::nullopt;
}

inline int int_input(const node_call& call, const char* name, int fallback) {
  const json& value = call.inputs.contains(name) ? call.inputs.at(name) : json();
  return value.is_number_integer() ? value.get<int>() : fallback;
}

/// The image a generic node passes on: its first image-like input, resized by its own
/// width/height/batch_size inputs when it has them (EmptyLatentImage, ImageScale ...).
inline image_value derived_image(const node_call& call) {
  image_value image;
  for (const auto& [name, value] : call.inputs.items()) {
    if (auto found = as_image(value)) {
      image = *found;
      break;
    }
  }
  if (const int width = int_input(call, "width", 0); width > 0) image.width = width;
  if (const int height = int_input(call, "height", 0); height > 0) image.height = height;
  if (const int batch = int_input(call, "batch_size", 0); batch > 0) image.batch = batch;
  return image;
}

inline json generic_output(const node_call& call, std::size_t slot) {
  const json& type = call.cls->return_types[slot];
  const std::string name = slot < call.cls->output_names.size() ? call.cls->output_names[slot] : "";
  const image_value image = derived_image(call);
  if (type == "IMAGE") return to_json(image);
  if (type == "MASK") return to_json(image, "mask");
  if (type == "LATENT") return to_json(image, "latent");
  if (type == "INT") {
    if (name == "width") return image.width;
    if (name == "height") return image.height;
    if (name == "batch_size") return image.batch;
  }
  if (call.inputs.contains(name) && !call.inputs.at(name).is_object()) return call.inputs.at(name);
  if (type == "INT") return 0;
  if (type == "FLOAT") return 0.0;
  if (type == "STRING") return "";
  if (type == "BOOLEAN") return false;
  return json{{"opaque", type}};
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw node_failure("OSError", "[Errno 5] Input/output error: '" + path + "'");
}

/// The PNG text chunks ComfyUI writes: the API graph as "prompt", then each extra_pnginfo key.
inline std::vector<std::pair<std::string, std::string>> png_metadata(const node_call& call) {
  std::vector<std::pair<std::string, std::string>> chunks{{"prompt", python_dumps(*call.prompt)}};
  if (call.extra_data->contains("extra_pnginfo") && call.extra_data->at("extra_pnginfo").is_object()) {
    for (const auto& [key, value] : call.extra_data->at("extra_pnginfo").items()) {
      chunks.emplace_back(key, python_dumps(value));
    }
  }
  return chunks;
}

/// How a save node's files look: extension, the key of its UI output ("" = none), whether
/// it writes one file for the whole batch (animations, audio, models).
struct saver_kind {
  std::string_view extension{"png"};
  std::string_view ui_key{"images"};
  bool one_file{};
  bool animated{};
};

inline saver_kind saver_kind_of(std::string_view class_type) {
  if (class_type == "SaveAnimatedWEBP") return {"webp", "images", true, true};
  if (class_type == "SaveAnimatedPNG") return {"png", "images", true, true};
  if (class_type == "SaveWEBM") return {"webm", "images", true, true};
  if (class_type == "SaveVideo") return {"mp4", "images", true, true};
  if (class_type == "SaveAudio") return {"flac", "audio", true, false};
  if (class_type == "SaveAudioMP3") return {"mp3", "audio", true, false};
  if (class_type == "SaveAudioOpus") return {"opus", "audio", true, false};
  if (class_type == "SaveGLB") return {"glb", "3d", true, false};
  if (class_type == "SaveSVGNode") return {"svg", "images", true, false};
  if (class_type == "SaveLatent") return {"latent", "latents", true, false};
  // Model, LoRA and dataset savers write files but report no UI output.
  if (class_type.ends_with("CheckpointSave") || class_type == "ModelSave" || class_type == "CLIPSave" ||
      class_type == "VAESave" || class_type == "LoraSave") {
    return {"safetensors", "", true, false};
  }
  if (class_type.starts_with("SaveImage") && class_type.ends_with("ToFolder")) return {"png", "", false, false};
  return {};
}

/// SaveImage and every other node with a filename_prefix: files under the output folder
/// (or, for previews, the temp folder), named <base>_<counter:05>_.<ext>.
inline node_outcome save_files(const node_call& call, const std::string& prefix, const std::string& folder,
                               const std::string& folder_type) {
  const saver_kind kind = saver_kind_of(call.cls->name);
  const image_value image = derived_image(call);
  const save_location location = resolve_save_location(prefix, folder, image.width, image.height);
  json results = json::array();
  const int files = kind.one_file ? 1 : image.batch;
  for (int batch_number = 0; batch_number < files; ++batch_number) {
    const std::string name = numbered_file_name(location, batch_number, location.counter + batch_number, kind.extension);
    const std::string bytes = kind.extension == "png"
                                  ? encode_png({image.width, image.height}, image.color, png_metadata(call))
                                  : "comfyui-standin placeholder " + std::string(kind.extension) + "\n";
    write_file(pypath::join(location.folder, name), bytes);
    results.push_back(json{{"filename", name}, {"subfolder", location.subfolder}, {"type", folder_type}});
  }
  node_outcome outcome;
  if (!kind.ui_key.empty()) {
    json ui{{std::string(kind.ui_key), results}};
    if (kind.animated) ui["animated"] = json::array({true});
    outcome.ui = ui;
  }
  return outcome;
}

/// PreviewImage / MaskPreview: prefix "ComfyUI_temp_<5 random letters>" in the temp folder.
inline node_outcome save_preview(const node_call& call) {
  static constexpr std::string_view letters = "abcdefghijklmnopqrstupvxyz";  // sic, as in ComfyUI
  thread_local std::mt19937 random{std::random_device{}()};
  std::string prefix = "ComfyUI_temp_";
  for (int i = 0; i < 5; ++i) prefix += letters[std::uniform_int_distribution<std::size_t>(0, letters.size() - 1)(random)];
  return save_files(call, prefix, call.folders->temp, "temp");
}

inline node_outcome load_image(const node_call& call, const std::string& input_name) {
  const std::string path = call.folders->upload_path(python_str(call.inputs.at(input_name)));
  if (!std::filesystem::is_regular_file(path)) {
    throw node_failure("FileNotFoundError", "[Errno 2] No such file or directory: '" + path + "'");
  }
  const std::string bytes = read_file(path);
  if (!looks_like_image(bytes)) throw node_failure("PIL.UnidentifiedImageError", "cannot identify image file '" + path + "'");
  image_value image;
  if (const auto size = png_size(bytes)) {
    image.width = size->width;
    image.height = size->height;
  }
  node_outcome outcome;
  for (std::size_t slot = 0; slot < call.cls->return_types.size(); ++slot) {
    outcome.outputs.push_back(call.cls->return_types[slot] == "MASK" ? to_json(image, "mask") : to_json(image));
  }
  return outcome;
}

inline bool is_sampler(const node_class& cls) {
  return cls.category.starts_with("sampling") &&
         std::find(cls.return_types.begin(), cls.return_types.end(), json("LATENT")) != cls.return_types.end();
}

}  // namespace simulation_detail

/// Whether ComfyUI re-runs this class every time (IS_CHANGED returns the current time).
inline bool never_cached(std::string_view class_type) { return class_type == "SaveImageWebsocket"; }

/// Whether the node reports progress steps (its run time is spread over them).
inline bool reports_progress(const node_class& cls) {
  return cls.name == "SaveImageWebsocket" || simulation_detail::is_sampler(cls);
}

/// The name of the upload input a class reads a file from (LoadImage's "image"), or "".
inline std::string upload_input(const node_class& cls) {
  for (const auto& spec : cls.inputs) {
    if (spec.options.value("image_upload", false)) return spec.name;
  }
  return "";
}

/// Runs one node. Throws node_failure for what would raise in ComfyUI.
inline node_outcome simulate_node(const node_call& call) {
  using namespace simulation_detail;
  const node_class& cls = *call.cls;
  const std::string& type = cls.name;

  if (const std::string upload = upload_input(cls); !upload.empty()) return load_image(call, upload);

  node_outcome outcome;
  if (type == "EmptyImage") {
    const int color = int_input(call, "color", 0);
    outcome.outputs.push_back(to_json(image_value{int_input(call, "width", 512), int_input(call, "height", 512),
                                                  int_input(call, "batch_size", 1),
                                                  rgb_color{static_cast<std::uint8_t>((color >> 16) & 0xFF),
                                                            static_cast<std::uint8_t>((color >> 8) & 0xFF),
                                                            static_cast<std::uint8_t>(color & 0xFF)}}));
    return outcome;
  }
  if (type == "ImageInvert") {
    image_value image = derived_image(call);
    image.color = {static_cast<std::uint8_t>(255 - image.color.red), static_cast<std::uint8_t>(255 - image.color.green),
                   static_cast<std::uint8_t>(255 - image.color.blue)};
    outcome.outputs.push_back(to_json(image));
    return outcome;
  }
  if (type == "GetImageSize") {
    const image_value image = derived_image(call);
    outcome.outputs = {image.width, image.height, image.batch};
    outcome.progress_texts.push_back("width: " + std::to_string(image.width) + ", height: " +
                                     std::to_string(image.height) + "\n batch size: " + std::to_string(image.batch));
    return outcome;
  }
  if (type == "PreviewAny") {
    const json& source = call.inputs.contains("source") ? call.inputs.at("source") : json();
    outcome.ui = json{{"text", json::array({source.is_object() ? python_dumps(source) : python_str(source)})}};
    return outcome;
  }
  if (type == "SaveImageWebsocket") {
    const image_value image = derived_image(call);
    for (int i = 0; i < image.batch; ++i) {
      outcome.steps.push_back({i, image.batch, encode_png({image.width, image.height}, image.color)});
    }
    return outcome;
  }
  if (type == "PreviewImage" || type == "MaskPreview") return save_preview(call);
  if (cls.output_node && call.inputs.contains("filename_prefix")) {
    return save_files(call, python_str(call.inputs.at("filename_prefix")), call.folders->output, "output");
  }

  for (std::size_t slot = 0; slot < cls.return_types.size(); ++slot) outcome.outputs.push_back(generic_output(call, slot));
  if (is_sampler(cls)) {
    const int steps = int_input(call, "steps", call.knobs.sampler_steps);
    const image_value image = derived_image(call);
    for (int step = 1; step <= steps; ++step) {
      std::optional<std::string> preview;
      if (call.knobs.sampler_previews) preview = encode_png({std::max(1, image.width / 8), std::max(1, image.height / 8)}, image.color);
      outcome.steps.push_back({step, steps, preview});
    }
    outcome.steps_check_interrupt = true;
  }
  return outcome;
}

}  // namespace comfyq::testing::standin
