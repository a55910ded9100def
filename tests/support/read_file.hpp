#pragma once
// A file's whole content, as tests compare it.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace comfyq::testing {

/// The bytes of `path`; empty when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace comfyq::testing
