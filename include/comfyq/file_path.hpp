#pragma once
// A path inside a tenant's files, as a workflow, an upload or a download names it: "cat.png" or
// "photos/cat.png". Every way out of the tenant's folder is refused before the path meets a
// file system: absolute paths, '.' and '..' folders, backslashes, NUL and other control
// characters, and names longer than file systems keep.

#include <cstddef>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"

namespace comfyq {

inline constexpr std::size_t max_file_name_bytes = 255;   ///< one folder or file name (ext4, XFS)
inline constexpr std::size_t max_file_path_bytes = 1024;  ///< the whole relative path

/// `path` unchanged when it stays inside the folder it is relative to; else throws
/// invalid_input naming `field`, with `advice` (e.g. "name a file you uploaded, ...") after
/// what is wrong.
inline std::string checked_relative_path(std::string_view path, const std::string& field, std::string_view advice) {
  const auto refuse = [&](std::string_view what) {
    throw invalid_input(field, "'" + detail::printable(path.substr(0, 200)) + "' " + std::string(what) + "; " +
                                   std::string(advice));
  };
  if (path.empty() || path.front() == '/' || path.back() == '/') refuse("is not a file name");
  if (path.size() > max_file_path_bytes) refuse("is longer than " + std::to_string(max_file_path_bytes) + " bytes");
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || byte < 0x20 || byte == 0x7f) refuse("contains a backslash or a control character");
  }
  for (std::size_t begin = 0; begin <= path.size();) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    const std::string_view segment = path.substr(begin, end - begin);
    if (segment.empty() || segment == "." || segment == "..") refuse("has an empty, '.' or '..' folder");
    if (segment.size() > max_file_name_bytes) {
      refuse("has a name longer than " + std::to_string(max_file_name_bytes) + " bytes");
    }
    begin = end + 1;
  }
  return std::string(path);
}

}  // namespace comfyq
