#pragma once
// Where a save node writes and what it calls the file: ComfyUI's get_save_image_path.
// "%year%".."%second%", "%width%", "%height%" are expanded; the prefix is normpath'd into a
// subfolder and a base name; the counter is one more than the largest among the files in
// that folder whose names start with "<base>_" (scanned on every save). A prefix that
// leaves the output folder ("../x", "/abs/x") raises at run time. The trailing-slash quirk
// ("a/b/" saves as "a/b_00001_.png" and never advances its counter) is kept.

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "comfyui_standin/python_path.hpp"

namespace comfyq::testing::standin {

struct save_location {
  std::string folder{};     // absolute folder the files go to
  std::string base_name{};  // file name stem before "_00001_.png" (may hold %batch_num%)
  std::string subfolder{};  // as reported to clients
  int counter{1};
};

/// A node failed at run time; becomes an execution_error.
struct node_failure : std::runtime_error {
  node_failure(std::string exception_type, const std::string& message)
      : std::runtime_error(message), type(std::move(exception_type)) {}
  std::string type;
};

namespace naming_detail {

inline void replace_all(std::string& text, std::string_view token, const std::string& value) {
  for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size())) {
    text.replace(at, token.size(), value);
  }
}

inline std::string two_digits(int value) {
  return (value < 10 ? "0" : "") + std::to_string(value);
}

inline std::string expand_variables(std::string prefix, int width, int height) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  replace_all(prefix, "%width%", std::to_string(width));
  replace_all(prefix, "%height%", std::to_string(height));
  replace_all(prefix, "%year%", std::to_string(local.tm_year + 1900));
  replace_all(prefix, "%month%", two_digits(local.tm_mon + 1));
  replace_all(prefix, "%day%", two_digits(local.tm_mday));
  replace_all(prefix, "%hour%", two_digits(local.tm_hour));
  replace_all(prefix, "%minute%", two_digits(local.tm_min));
  replace_all(prefix, "%second%", two_digits(local.tm_sec));
  return prefix;
}

/// Python's int() of the text before the next "_", or 0 when it is not a number.
inline int leading_counter(std::string_view text) {
  const std::string digits(text.substr(0, text.find('_')));
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return 0;
  return std::stoi(digits);
}

}  // namespace naming_detail

/// get_save_image_path(filename_prefix, output_dir, width, height). `output_dir` is absolute
/// and normalised. Throws node_failure when the prefix leaves it.
inline save_location resolve_save_location(std::string prefix, const std::string& output_dir, int width, int height) {
  if (prefix.find('%') != std::string::npos) prefix = naming_detail::expand_variables(prefix, width, height);
  const std::string normalised = pypath::normpath(prefix);
  save_location location;
  location.subfolder = pypath::dirname(normalised);
  location.base_name = pypath::basename(normalised);
  location.folder = pypath::normpath(pypath::join(output_dir, location.subfolder));
  const std::string common = pypath::commonpath(output_dir, location.folder);
  if (common != output_dir) {
    throw node_failure("Exception", "**** ERROR: Saving image outside the output folder is not allowed.\n"
                                    " full_output_folder: " + location.folder + "\n"
                                    "         output_dir: " + output_dir + "\n"
                                    "         commonpath: " + common);
  }

  // map_filename: the counter after "<basename of the raw prefix>_", compared by prefix.
  const std::size_t prefix_length = pypath::basename(prefix).size();
  std::error_code error;
  std::filesystem::directory_iterator entries(location.folder, error);
  if (error) {
    std::filesystem::create_directories(location.folder, error);
    return location;
  }
  int largest = 0;
  bool any = false;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    const std::string head = name.substr(0, prefix_length + 1);
    if (head.size() != prefix_length + 1 || head.back() != '_' || head.substr(0, prefix_length) != location.base_name) {
      continue;
    }
    const int counter = naming_detail::leading_counter(std::string_view(name).substr(prefix_length + 1));
    largest = any ? std::max(largest, counter) : counter;
    any = true;
  }
  location.counter = any ? largest + 1 : 1;
  return location;
}

/// "<base>_<counter:05>_.<extension>", with %batch_num% replaced.
inline std::string numbered_file_name(const save_location& location, int batch_number, int counter,
                                      std::string_view extension) {
  std::string base = location.base_name;
  naming_detail::replace_all(base, "%batch_num%", std::to_string(batch_number));
  std::string number = std::to_string(counter);
  if (number.size() < 5) number.insert(0, 5 - number.size(), '0');
  return base + "_" + number + "_." + std::string(extension);
}

}  // namespace comfyq::testing::standin
