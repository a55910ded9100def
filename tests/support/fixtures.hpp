#pragma once
// Test fixtures under tests/fixtures (COMFYQ_FIXTURES_DIR, defined by the build).

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace comfyq::test {

/// Path of `relative` below tests/fixtures.
inline std::string fixture_path(std::string_view relative) {
  return std::string(COMFYQ_FIXTURES_DIR) + "/" + std::string(relative);
}

/// The bytes of tests/fixtures/<relative>; throws std::runtime_error naming the file if it cannot be read.
inline std::string fixture_bytes(std::string_view relative) {
  const std::string path = fixture_path(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The JSON in tests/fixtures/<relative>; throws if it cannot be read or parsed.
inline nlohmann::json fixture_json(std::string_view relative) {
  return nlohmann::json::parse(fixture_bytes(relative));
}

/// The API-format workflow of the recordings that saves one image (comfyui/workflow_saveimage.json).
inline nlohmann::json saveimage_workflow() { return fixture_json("comfyui/workflow_saveimage.json"); }

}  // namespace comfyq::test
