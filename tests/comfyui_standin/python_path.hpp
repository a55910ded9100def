#pragma once
// POSIX path arithmetic as Python's os.path does it. ComfyUI derives output subfolders,
// upload targets and its "outside the folder" checks from these functions, including
// their quirks (a trailing slash on a prefix, ".." kept at the front of a relative path).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace comfyq::testing::standin::pypath {

inline std::vector<std::string> split_components(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

/// os.path.normpath
inline std::string normpath(std::string_view path) {
  if (path.empty()) return ".";
  std::size_t initial_slashes = path.starts_with('/') ? 1 : 0;
  if (path.starts_with("//") && !path.starts_with("///")) initial_slashes = 2;
  std::vector<std::string> kept;
  for (auto& part : split_components(path)) {
    if (part.empty() || part == ".") continue;
    if (part != ".." || (initial_slashes == 0 && kept.empty()) || (!kept.empty() && kept.back() == "..")) {
      kept.push_back(std::move(part));
    } else if (!kept.empty()) {
      kept.pop_back();
    }
  }
  std::string out(initial_slashes, '/');
  for (std::size_t i = 0; i < kept.size(); ++i) out += (i == 0 ? "" : "/") + kept[i];
  return out.empty() ? "." : out;
}

/// os.path.basename
inline std::string basename(std::string_view path) {
  return std::string(path.substr(path.rfind('/') + 1));
}

/// os.path.dirname
inline std::string dirname(std::string_view path) {
  std::string head(path.substr(0, path.rfind('/') + 1));
  if (!head.empty() && head.find_first_not_of('/') != std::string::npos) {
    while (head.ends_with('/')) head.pop_back();
  }
  return head;
}

/// os.path.join(a, b)
inline std::string join(std::string_view a, std::string_view b) {
  if (b.starts_with('/') || a.empty()) return std::string(b);
  std::string out(a);
  if (!out.ends_with('/')) out += '/';
  return out + std::string(b);
}

/// os.path.commonpath((a, b)) for two absolute, normalised paths.
inline std::string commonpath(std::string_view a, std::string_view b) {
  const auto left = split_components(normpath(a));
  const auto right = split_components(normpath(b));
  std::string out;
  for (std::size_t i = 1; i < left.size() && i < right.size() && left[i] == right[i]; ++i) out += "/" + left[i];
  return out.empty() ? "/" : out;
}

}  // namespace comfyq::testing::standin::pypath
