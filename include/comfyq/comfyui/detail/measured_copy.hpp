#pragma once
// Copies a file whole (through partial_file, so the destination never holds part of it),
// measuring its size and SHA-256 on the way, as http_client::download measures a download:
// outputs read from a ComfyUI output folder the worker shares are kept like downloaded ones.

#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>

#include "comfyq/comfyui/detail/partial_file.hpp"
#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/util/sha256.hpp"

namespace comfyq::comfyui::detail {

/// Copies `source` to `destination`; nullopt when there is no `source`. Throws std::system_error
/// when a disk refuses the bytes.
inline std::optional<downloaded_file> measured_copy(const std::filesystem::path& source,
                                                    const std::filesystem::path& destination) {
  std::ifstream in(source, std::ios::binary);
  if (!in) return std::nullopt;
  partial_file out(destination);
  comfyq::util::sha256 hash;
  downloaded_file copied;
  std::array<char, 64 * 1024> piece{};
  while (in) {
    in.read(piece.data(), piece.size());
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    out.write(piece.data(), got);
    hash.update(std::string_view(piece.data(), got));
    copied.size += got;
  }
  if (in.bad()) throw std::system_error(errno, std::generic_category(), "reading " + source.string());
  out.commit();
  copied.sha256 = hash.hex_digest();
  return copied;
}

}  // namespace comfyq::comfyui::detail
