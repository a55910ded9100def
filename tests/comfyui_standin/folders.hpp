#pragma once
// ComfyUI's three folders (output, input, temp) and how a name picks one: "x.png [output]"
// style annotations, "type=output|input|temp" query values.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "comfyui_standin/python_path.hpp"

namespace comfyq::testing::standin {

struct standin_folders {
  std::string output{};  // absolute, normalised
  std::string input{};
  std::string temp{};

  /// folder_paths.get_directory_by_type
  std::optional<std::string> by_type(std::string_view type) const {
    if (type == "output") return output;
    if (type == "input") return input;
    if (type == "temp") return temp;
    return std::nullopt;
  }

  /// folder_paths.annotated_filepath: strips " [output]", " [input]" or " [temp]" and
  /// returns the folder it names, or nullopt (and the name unchanged) without one.
  std::pair<std::string, std::optional<std::string>> split_annotation(std::string name) const {
    for (const std::string_view type : {"output", "input", "temp"}) {
      const std::string suffix = " [" + std::string(type) + "]";
      if (name.ends_with(suffix)) {
        name.resize(name.size() - suffix.size());
        return {name, by_type(type)};
      }
    }
    return {name, std::nullopt};
  }

  /// folder_paths.get_annotated_filepath(name): where LoadImage looks for an upload.
  std::string upload_path(const std::string& name) const {
    auto [plain, folder] = split_annotation(name);
    return pypath::join(folder.value_or(input), plain);
  }
};

/// Absolute, normalised form of a configured folder.
inline std::string absolute_folder(const std::string& path) {
  return pypath::normpath(std::filesystem::absolute(path).string());
}

}  // namespace comfyq::testing::standin
