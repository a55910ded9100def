#pragma once
// Where one attempt of a job keeps its files, relative to ComfyUI's output (or input) directory:
// comfyq/<tenant>/<job>/<attempt>/. A path alone then says which job wrote a file.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"

namespace comfyq {

/// First segment of every path comfyq hands to ComfyUI; keeps tagged files apart from everyone else's.
inline constexpr std::string_view output_root = "comfyq";

namespace detail {

/// The attempt number written as a path segment: decimal without sign or leading zeros, 1 or more.
/// One spelling per number, so that two different paths never name the same attempt.
constexpr std::optional<std::uint32_t> parse_attempt(std::string_view text) noexcept {
  if (text.empty() || text.size() > 10 || text.front() == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace detail

/// "comfyq/<tenant>/<job>/<attempt>": the folder one attempt's files go to.
/// Throws invalid_input for an invalid tenant or job id (fields "tenant", "job") or attempt 0.
inline std::string attempt_folder(std::string_view tenant, std::string_view job, std::uint32_t attempt) {
  validate_id("tenant", tenant);
  validate_id("job", job);
  if (attempt == 0) {
    throw invalid_input("attempt", "is 0, but attempts are counted from 1; pass the lease's attempt number");
  }
  std::string folder(output_root);
  folder += '/';
  folder += tenant;
  folder += '/';
  folder += job;
  folder += '/';
  folder += std::to_string(attempt);
  return folder;
}

}  // namespace comfyq
