#pragma once
// Small real PNG files: what SaveImage, PreviewImage and SaveImageWebsocket produce, and
// the size of an image a client uploaded. Solid colour only; the pixel data is stored
// uncompressed (deflate "stored" blocks), which every PNG reader accepts.

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace comfyq::testing::standin {

struct rgb_color {
  std::uint8_t red{};
  std::uint8_t green{};
  std::uint8_t blue{};
};

struct image_size {
  int width{};
  int height{};
};

namespace png_detail {

inline std::uint32_t crc32(std::string_view bytes) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> entries{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1U) : c >> 1U;
      entries[n] = c;
    }
    return entries;
  }();
  std::uint32_t crc = 0xFFFFFFFFU;
  for (const char byte : bytes) crc = table[(crc ^ static_cast<std::uint8_t>(byte)) & 0xFFU] ^ (crc >> 8U);
  return crc ^ 0xFFFFFFFFU;
}

inline std::uint32_t adler32(std::string_view bytes) {
  std::uint32_t a = 1;
  std::uint32_t b = 0;
  for (const char byte : bytes) {
    a = (a + static_cast<std::uint8_t>(byte)) % 65521U;
    b = (b + a) % 65521U;
  }
  return (b << 16U) | a;
}

inline void append_u32be(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xFFU);
}

inline void append_chunk(std::string& out, std::string_view type, std::string_view data) {
  append_u32be(out, static_cast<std::uint32_t>(data.size()));
  std::string typed(type);
  typed += data;
  out += typed;
  append_u32be(out, crc32(typed));
}

/// A zlib stream holding `raw` in deflate stored blocks (at most 65535 bytes each).
inline std::string zlib_stored(std::string_view raw) {
  std::string out = "\x78\x01";
  std::size_t offset = 0;
  do {
    const std::size_t length = std::min<std::size_t>(raw.size() - offset, 65535);
    const bool last = offset + length == raw.size();
    out += static_cast<char>(last ? 1 : 0);
    out += static_cast<char>(length & 0xFFU);
    out += static_cast<char>(length >> 8U);
    out += static_cast<char>(~length & 0xFFU);
    out += static_cast<char>((~length >> 8U) & 0xFFU);
    out.append(raw.substr(offset, length));
    offset += length;
  } while (offset < raw.size());
  append_u32be(out, adler32(raw));
  return out;
}

}  // namespace png_detail

inline constexpr std::string_view png_signature{"\x89PNG\r\n\x1a\n", 8};

/// A width x height 8-bit RGB PNG of one colour, with a tEXt chunk per (keyword, text) pair
/// (ComfyUI writes the API graph as "prompt" and each extra_pnginfo key, e.g. "workflow").
inline std::string encode_png(image_size size, rgb_color color,
                              const std::vector<std::pair<std::string, std::string>>& text_chunks = {}) {
  std::string header;
  png_detail::append_u32be(header, static_cast<std::uint32_t>(size.width));
  png_detail::append_u32be(header, static_cast<std::uint32_t>(size.height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, no filter, no interlace

  std::string row(1, '\0');  // filter type "none"
  for (int x = 0; x < size.width; ++x) {
    row += static_cast<char>(color.red);
    row += static_cast<char>(color.green);
    row += static_cast<char>(color.blue);
  }
  std::string raw;
  raw.reserve(row.size() * static_cast<std::size_t>(size.height));
  for (int y = 0; y < size.height; ++y) raw += row;

  std::string out(png_signature);
  png_detail::append_chunk(out, "IHDR", header);
  for (const auto& [keyword, text] : text_chunks) png_detail::append_chunk(out, "tEXt", keyword + '\0' + text);
  png_detail::append_chunk(out, "IDAT", png_detail::zlib_stored(raw));
  png_detail::append_chunk(out, "IEND", "");
  return out;
}

/// The size in a PNG's IHDR chunk; nullopt when `bytes` is not a PNG.
inline std::optional<image_size> png_size(std::string_view bytes) {
  if (bytes.size() < 24 || bytes.substr(0, 8) != png_signature || bytes.substr(12, 4) != "IHDR") return std::nullopt;
  const auto u32_at = [&](std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) value = (value << 8U) | static_cast<std::uint8_t>(bytes[at + i]);
    return value;
  };
  return image_size{static_cast<int>(u32_at(16)), static_cast<int>(u32_at(20))};
}

/// Whether `bytes` start like a file Pillow can open (PNG, JPEG, GIF, WebP, BMP):
/// LoadImage of anything else fails with PIL.UnidentifiedImageError.
inline bool looks_like_image(std::string_view bytes) {
  return bytes.starts_with(png_signature) || bytes.starts_with("\xFF\xD8\xFF") || bytes.starts_with("GIF8") ||
         (bytes.starts_with("RIFF") && bytes.size() >= 12 && bytes.substr(8, 4) == "WEBP") || bytes.starts_with("BM");
}

}  // namespace comfyq::testing::standin
