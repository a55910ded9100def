#pragma once
// Turns a user's file name prefix into one that stays inside the job's folder and is harmless
// on any file system and in any URL.
//
// Kept: ASCII letters and digits, '-', '_', '.', and the tokens ComfyUI expands server side
// (%year%, %width%, %batch_num%, ...). Everything else becomes '_': spaces, ':', brackets, control
// characters, NUL, each non-ASCII character (one '_' per UTF-8 sequence), and any other '%', so
// that no prefix can smuggle in a percent-escape such as "%2e%2e" for a careless URL decoder.
// A '.' right after another '.' becomes '_' too: ComfyUI's /view refuses any file name containing
// "..". '/' and '\\' separate folders; empty, "." and ".." folders are dropped, so no prefix can
// climb out of the folder it is put in.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/ids.hpp"
#include "comfyq/output_folder.hpp"

namespace comfyq::detail {

/// Longest folder or file name a prefix keeps; ComfyUI appends "_00001_.<ext>" to the last one.
inline constexpr std::size_t max_prefix_segment = 80;
/// Longest sanitized prefix; leading folders are dropped to fit, the file name part always stays.
inline constexpr std::size_t max_prefix_length = 200;
/// What is left when nothing usable remains: ComfyUI's own default prefix.
inline constexpr std::string_view fallback_prefix = "ComfyUI";

/// Tokens ComfyUI 0.8.0 replaces in a prefix when saving (SaveImage replaces %batch_num% itself).
inline constexpr std::array<std::string_view, 9> server_prefix_tokens = {
    "%year%", "%month%", "%day%", "%hour%", "%minute%", "%second%", "%width%", "%height%", "%batch_num%"};

constexpr bool is_safe_prefix_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

/// The server token `text` starts with, or an empty view.
constexpr std::string_view server_token_at(std::string_view text) noexcept {
  for (std::string_view token : server_prefix_tokens) {
    if (text.substr(0, token.size()) == token) return token;
  }
  return {};
}

/// `text` as one folder or file name: unsafe characters (separators included) replaced, length capped.
inline std::string sanitize_segment(std::string_view text) {
  std::string out;
  bool in_utf8_sequence = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (const std::string_view token = server_token_at(text.substr(i)); !token.empty()) {
      out += token;
      i += token.size() - 1;
      in_utf8_sequence = false;
      continue;
    }
    if (byte >= 0x80) {
      const bool continuation = (byte & 0xc0) == 0x80;
      if (!(continuation && in_utf8_sequence)) out += '_';
      in_utf8_sequence = true;
      continue;
    }
    in_utf8_sequence = false;
    const bool second_dot = c == '.' && !out.empty() && out.back() == '.';
    out += is_safe_prefix_char(c) && !second_dot ? c : '_';
  }
  if (out.size() > max_prefix_segment) out.resize(max_prefix_segment);
  return out;
}

/// True for names that must never be a path segment.
constexpr bool is_unusable_segment(std::string_view segment) noexcept {
  return segment.empty() || segment == "." || segment == "..";
}

/// A bare file name prefix (no folders), for nodes whose folder comes from another input.
inline std::string sanitize_file_prefix(std::string_view prefix) {
  return is_unusable_segment(prefix) ? std::string(fallback_prefix) : sanitize_segment(prefix);
}

/// A relative prefix "folder/.../name" that cannot leave the folder it is appended to.
/// A prefix comfyq tagged before (a workflow reloaded from one of its own outputs) loses that
/// tag, so re-tagging replaces the job folder instead of nesting one job's folder in another's.
inline std::string sanitize_prefix(std::string_view prefix) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= prefix.size()) {
    std::size_t end = prefix.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = prefix.size();
    const std::string_view segment = prefix.substr(start, end - start);
    if (!is_unusable_segment(segment)) segments.push_back(sanitize_segment(segment));
    start = end + 1;
  }
  while (segments.size() > 4 && segments[0] == output_root && is_valid_id(segments[1]) && is_valid_id(segments[2]) &&
         parse_attempt(segments[3])) {
    segments.erase(segments.begin(), segments.begin() + 4);
  }
  if (segments.empty()) return std::string(fallback_prefix);

  std::size_t length = segments.size() - 1;
  for (const auto& segment : segments) length += segment.size();
  std::size_t first = 0;
  while (length > max_prefix_length) length -= segments[first++].size() + 1;

  std::string out;
  for (std::size_t i = first; i < segments.size(); ++i) {
    if (!out.empty()) out += '/';
    out += segments[i];
  }
  return out;
}

}  // namespace comfyq::detail
