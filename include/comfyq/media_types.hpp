#pragma once
// Media types of the files ComfyUI's save nodes write, chosen by file extension. Anything not
// listed (html, js and css included, as ComfyUI's own /view does) is application/octet-stream,
// so that no output is ever served as something a browser would run.

#include <array>
#include <cstddef>
#include <string_view>

namespace comfyq {

/// One extension (lowercase, without the dot) and its media type.
struct media_type_entry {
  std::string_view extension;
  std::string_view media_type;
};

/// The type of every extension comfyq recognises; the rest is application/octet-stream.
inline constexpr std::array<media_type_entry, 33> media_types{{
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"avif", "image/avif"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mov", "video/quicktime"},
    {"mkv", "video/x-matroska"},
    {"avi", "video/x-msvideo"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"flac", "audio/flac"},
    {"opus", "audio/opus"},
    {"ogg", "audio/ogg"},
    {"m4a", "audio/mp4"},
    {"aac", "audio/aac"},
    {"glb", "model/gltf-binary"},
    {"gltf", "model/gltf+json"},
    {"obj", "model/obj"},
    {"stl", "model/stl"},
    {"ply", "model/ply"},
    // SaveLatent writes safetensors containers under the .latent extension.
    {"latent", "application/x-safetensors"},
    {"safetensors", "application/x-safetensors"},
    {"txt", "text/plain"},
    {"json", "application/json"},
    {"csv", "text/csv"},
    {"pdf", "application/pdf"},
}};

/// For files whose extension is not in media_types.
inline constexpr std::string_view default_media_type = "application/octet-stream";

/// The media type of `filename` by its extension, case-insensitively ("OUT.PNG" is image/png).
constexpr std::string_view media_type_for(std::string_view filename) noexcept {
  const std::size_t slash = filename.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  const std::size_t dot = base.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return default_media_type;
  const std::string_view extension = base.substr(dot + 1);
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (const auto& entry : media_types) {
    if (entry.extension.size() != extension.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < extension.size() && same; ++i) same = lower(extension[i]) == entry.extension[i];
    if (same) return entry.media_type;
  }
  return default_media_type;
}

}  // namespace comfyq
