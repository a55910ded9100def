#pragma once
// Manifest entries: what comfyq keeps about each file a succeeded job produced.

#include <string_view>

#include "comfyq/artifact.hpp"
#include "comfyq/attribution.hpp"
#include "comfyq/detail/sha256.hpp"
#include "comfyq/media_types.hpp"
#include "comfyq/model.hpp"

namespace comfyq {

/// The manifest entry of one attributed file whose content is `bytes`: its name within the
/// attempt folder (from `origin`), size, SHA-256, media type (by extension) and writing node.
inline manifest_entry make_manifest_entry(const artifact_origin& origin, const artifact& file, std::string_view bytes) {
  manifest_entry entry;
  entry.name = origin.name;
  entry.size = bytes.size();
  entry.sha256 = detail::sha256_hex(bytes);
  entry.media_type = std::string(media_type_for(origin.name));
  entry.node = file.node;
  return entry;
}

}  // namespace comfyq
