#pragma once
// Reading optional text out of ComfyUI's JSON, where a missing or mistyped field is not worth
// refusing the whole message over (error descriptions, metadata).

#include <string>

#include <nlohmann/json.hpp>

namespace comfyq::comfyui::detail {

/// object[key] if it is a string, else `fallback`.
inline std::string text_at(const nlohmann::json& object, const char* key, const std::string& fallback = {}) {
  if (!object.is_object()) return fallback;
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : fallback;
}

}  // namespace comfyq::comfyui::detail
