#pragma once
// Manifest entries: what comfyq keeps about each file a succeeded job produced.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "comfyq/artifact.hpp"
#include "comfyq/attribution.hpp"
#include "comfyq/media_types.hpp"
#include "comfyq/model.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq {

/// The manifest entry of one attributed file measured as it was written (streamed to disk):
/// its name within the attempt folder (from `origin`), size, SHA-256 (lowercase hex), media type
/// (by extension) and writing node.
inline manifest_entry make_manifest_entry(const artifact_origin& origin, const artifact& file, std::uint64_t size,
                                          std::string sha256) {
  manifest_entry entry;
  entry.name = origin.name;
  entry.size = size;
  entry.sha256 = std::move(sha256);
  entry.media_type = std::string(media_type_for(origin.name));
  entry.node = file.node;
  return entry;
}

/// The same for a file whose content is `bytes`.
inline manifest_entry make_manifest_entry(const artifact_origin& origin, const artifact& file, std::string_view bytes) {
  return make_manifest_entry(origin, file, bytes.size(), util::sha256_hex(bytes));
}

}  // namespace comfyq
