#pragma once
// The files a workflow loads from ComfyUI's input folder (LoadImage and its kin), moved into
// the job's own folder there. The worker uploads each file from the tenant's input store to
// comfyq/<tenant>/<job>/<attempt>/ in ComfyUI's input folder, and the workflow points at that
// copy: a job sees only the files its own tenant provided, never another participant's
// uploads, and a retried attempt gets fresh copies.
//
// Which inputs name files: those ComfyUI's /object_info marks with image_upload,
// audio_upload, video_upload or file_upload (upload_inputs_of), or, without /object_info, the
// loaders of ComfyUI 0.8.0 (known_upload_inputs). LoadImageOutput reads ComfyUI's *output*
// folder, where every participant's results are, so a workflow that uses it is refused.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/errors.hpp"
#include "comfyq/file_path.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/output_folder.hpp"
#include "comfyq/workflow.hpp"

namespace comfyq {

/// An input of a node class whose value is a file in ComfyUI's input folder.
struct upload_input {
  std::string node_class;
  std::string input;

  friend bool operator==(const upload_input&, const upload_input&) = default;
};

/// The loaders of ComfyUI 0.8.0 (from its /object_info), for a worker without /object_info.
inline std::vector<upload_input> known_upload_inputs() {
  return {{"LoadImage", "image"}, {"LoadImageMask", "image"}, {"LoadAudio", "audio"},
          {"Load3D", "model_file"}, {"LoadVideo", "file"}};
}

/// Node classes that read files from a folder shared by every participant; refused.
inline constexpr std::array<std::string_view, 1> refused_loaders{"LoadImageOutput"};

/// The upload inputs that a ComfyUI's /object_info declares (inputs whose options carry
/// image_upload, audio_upload, video_upload or file_upload), custom nodes' included, less the
/// refused loaders.
inline std::vector<upload_input> upload_inputs_of(const nlohmann::json& object_info) {
  std::vector<upload_input> found;
  if (!object_info.is_object()) return found;
  for (const auto& [node_class, info] : object_info.items()) {
    if (!info.is_object() || !info.contains("input") || !info["input"].is_object()) continue;
    bool refused = false;
    for (std::string_view r : refused_loaders) refused = refused || r == node_class;
    if (refused) continue;
    for (const char* section : {"required", "optional"}) {
      const auto inputs = info["input"].find(section);
      if (inputs == info["input"].end() || !inputs->is_object()) continue;
      for (const auto& [name, spec] : inputs->items()) {
        if (!spec.is_array() || spec.size() < 2 || !spec[1].is_object()) continue;
        for (const char* flag : {"image_upload", "audio_upload", "video_upload", "file_upload"}) {
          if (spec[1].value(flag, false)) {
            found.push_back({node_class, name});
            break;
          }
        }
      }
    }
  }
  return found;
}

/// One file a job loads: `file` in the tenant's input store, uploaded to ComfyUI's input
/// folder as `subfolder`/`name`.
struct input_file {
  std::string node;       ///< the node that loads it
  std::string input;      ///< its input that names the file, e.g. "image"
  std::string file;       ///< the path the workflow gave, in the tenant's input store, e.g. "photos/cat.png"
  std::string subfolder;  ///< where to upload it in ComfyUI's input folder: comfyq/<tenant>/<job>/<attempt>[/photos]
  std::string name;       ///< the file name to upload it under, e.g. "cat.png"

  friend bool operator==(const input_file&, const input_file&) = default;
};

namespace detail {

// A file in the tenant's input store as a workflow names it: "cat.png" or "photos/cat.png",
// optionally with ComfyUI's " [input]" annotation. Anything that could reach outside that
// store is refused.
inline std::string input_reference(const nlohmann::json& value, const std::string& field) {
  constexpr std::string_view example = "name a file you uploaded, e.g. \"cat.png\" or \"photos/cat.png\"";
  if (!value.is_string()) {
    throw invalid_input(field, "is " + std::string(value.type_name()) + ", but it names a file; " + std::string(example));
  }
  std::string path = value.get<std::string>();
  // ComfyUI reads "x [output]" and "x [temp]" from those folders, which hold every participant's
  // files, and cuts one character more than "[input]" off "x[input]".
  constexpr std::string_view input_annotation = " [input]";
  if (path.ends_with(input_annotation)) {
    path.resize(path.size() - input_annotation.size());
  } else if (path.ends_with("[output]") || path.ends_with("[temp]") || path.ends_with("[input]")) {
    throw invalid_input(field, "'" + printable(path) + "' ends in a ComfyUI folder annotation that would read "
                               "outside your own files; " + std::string(example));
  }
  return checked_relative_path(path, field, example);
}

}  // namespace detail

/// Points every upload input of `graph` at the job's own copy of its file, and returns the
/// files to upload there, one per distinct file (the first node that loads it). Linked inputs
/// (fed by another node) name no file and stay as they are. Throws invalid_input, naming the
/// node and input, for a graph validate_workflow rejects, a refused loader, or a file reference
/// that is not text or could leave the tenant's input store; `graph` is unchanged when it throws.
inline std::vector<input_file> stage_inputs(nlohmann::json& graph, std::string_view tenant, std::string_view job,
                                            std::uint32_t attempt,
                                            const std::vector<upload_input>& uploads = known_upload_inputs()) {
  const std::string folder = attempt_folder(tenant, job, attempt);
  validate_workflow(graph);
  nlohmann::json staged = graph;
  std::vector<input_file> files;
  for (auto& [id, node] : staged.items()) {
    const std::string node_class = node["class_type"].get<std::string>();
    for (std::string_view refused : refused_loaders) {
      if (node_class == refused) {
        throw invalid_input(detail::workflow_field(id, "class_type"),
                            "is " + node_class + ", which reads ComfyUI's output folder, where every participant's "
                            "files are; upload the file and load it with LoadImage instead");
      }
    }
    for (const upload_input& upload : uploads) {
      auto& inputs = node["inputs"];
      if (upload.node_class != node_class || !inputs.contains(upload.input) || inputs[upload.input].is_array()) continue;
      const std::string path =
          detail::input_reference(inputs[upload.input], detail::workflow_field(id, "inputs." + upload.input));
      const std::size_t slash = path.rfind('/');
      input_file file{.node = id,
                      .input = upload.input,
                      .file = path,
                      .subfolder = slash == std::string::npos ? folder : folder + "/" + path.substr(0, slash),
                      .name = slash == std::string::npos ? path : path.substr(slash + 1)};
      inputs[upload.input] = file.subfolder + "/" + file.name;
      bool seen = false;
      for (const input_file& f : files) seen = seen || f.file == file.file;
      if (!seen) files.push_back(std::move(file));
    }
  }
  graph = std::move(staged);
  return files;
}

}  // namespace comfyq
