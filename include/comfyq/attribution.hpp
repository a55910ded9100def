#pragma once
// Output attribution: which job, tenant and attempt a file ComfyUI wrote belongs to, decided
// by its path alone (never by timestamps or by which instance answered). tag_outputs puts every
// file of an attempt under comfyq/<tenant>/<job>/<attempt>/; attribute() reads that back and
// rejects every path comfyq cannot have produced, so that a tenant can never be handed a file
// of another tenant, job or attempt.
//
// This header is the front door of the attribution part: it also brings in artifact.hpp
// (parsing ComfyUI's output records) and output_tagging.hpp (tag_outputs).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/artifact.hpp"
#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/output_folder.hpp"
#include "comfyq/output_tagging.hpp"

namespace comfyq {

/// Whose file an artifact is, read from its path comfyq/<tenant>/<job>/<attempt>/<name>.
struct artifact_origin {
  std::string tenant;
  std::string job;
  std::uint32_t attempt = 0;
  std::string name;  ///< path relative to the attempt folder: "out_00001_.png" or "sub/x_00001_.png"

  friend bool operator==(const artifact_origin&, const artifact_origin&) = default;
};

namespace detail {

/// subfolder/filename as ComfyUI's /view resolves it below the output directory.
inline std::string artifact_path(const artifact& file) {
  return file.subfolder.empty() ? file.filename : file.subfolder + "/" + file.filename;
}

/// True if `text` holds a percent-escape of '.', '/', '\\' or NUL ("%2e", "%2F", ...), which a URL
/// decoder applied once too often would turn into a path that climbs out of the job's folder.
constexpr bool has_path_escape(std::string_view text) noexcept {
  for (std::size_t at = text.find('%'); at != std::string_view::npos && at + 2 < text.size();
       at = text.find('%', at + 1)) {
    const char high = text[at + 1];
    const char low = static_cast<char>(text[at + 2] | 0x20);
    if ((high == '2' && (low == 'e' || low == 'f')) || (high == '5' && low == 'c') || (high == '0' && low == '0')) {
      return true;
    }
  }
  return false;
}

inline void reject_unsafe_chars(std::string_view text, const char* field) {
  if (has_path_escape(text)) {
    throw invalid_input(field, "'" + printable(text) + "' contains a percent-escape of '.', '/', '\\' or NUL; comfyq "
                                                       "never writes one, so the file is not attributed");
  }
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      throw invalid_input(field, "'" + printable(text) + "' contains a backslash, which some systems read as a folder "
                                                         "separator; comfyq never writes one, so the file is not attributed");
    }
    if (byte < 0x20 || byte == 0x7f) {
      throw invalid_input(field, "'" + printable(text) + "' contains a control character (NUL included); comfyq "
                                                         "never writes one, so the file is not attributed");
    }
  }
}

[[noreturn]] inline void reject_path(std::string_view path, const std::string& why) {
  throw invalid_input("artifact", "'" + printable(path) + "' " + why);
}

}  // namespace detail

/// The tenant, job, attempt and name `file` belongs to. Throws invalid_input, saying why, for
/// a type other than "output", a path that is absolute, has an empty, "." or ".." segment, a
/// backslash, a control character or a percent-escape of one of those, or does not parse as
/// comfyq/<tenant>/<job>/<attempt>/<name> with valid ids and an attempt of 1 or more.
inline artifact_origin attribute(const artifact& file) {
  if (file.type != "output") {
    throw invalid_input("artifact.type", "is '" + detail::printable(file.type) +
                                             "', but only files in ComfyUI's output directory (type \"output\") "
                                             "belong to a job; previews (\"temp\") and inputs are never attributed");
  }
  detail::reject_unsafe_chars(file.filename, "artifact.filename");
  detail::reject_unsafe_chars(file.subfolder, "artifact.subfolder");
  if (file.filename.empty() || file.filename.find('/') != std::string::npos) {
    throw invalid_input("artifact.filename", "'" + detail::printable(file.filename) +
                                                 "' is not a plain file name; ComfyUI reports the folder in "
                                                 "\"subfolder\", so this record does not describe a file comfyq tagged");
  }
  const std::string path = detail::artifact_path(file);
  if (path.front() == '/') {
    detail::reject_path(path, "is absolute; comfyq only attributes paths below ComfyUI's output directory");
  }

  std::vector<std::string_view> segments;
  const std::string_view rest(path);
  for (std::size_t start = 0; start <= rest.size();) {
    const std::size_t end = std::min(rest.find('/', start), rest.size());
    const std::string_view segment = rest.substr(start, end - start);
    if (segment.empty()) detail::reject_path(path, "has an empty folder name ('//'); comfyq never writes one");
    if (segment == "." || segment == "..") {
      detail::reject_path(path, "contains a '" + std::string(segment) +
                                    "' segment, which could point outside a job's folder; comfyq never writes one");
    }
    segments.push_back(segment);
    start = end + 1;
  }

  if (segments.size() < 5 || segments[0] != output_root) {
    detail::reject_path(path, "is not under comfyq/<tenant>/<job>/<attempt>/, so no job comfyq tagged wrote it; "
                              "only outputs of workflows passed through tag_outputs are attributed");
  }
  if (!is_valid_id(segments[1])) {
    detail::reject_path(path, "names tenant '" + detail::printable(segments[1]) + "', which is not a valid id, so comfyq did "
                                                                          "not write it");
  }
  if (!is_valid_id(segments[2])) {
    detail::reject_path(path, "names job '" + detail::printable(segments[2]) + "', which is not a valid id, so comfyq did "
                                                                       "not write it");
  }
  const auto attempt = detail::parse_attempt(segments[3]);
  if (!attempt) {
    detail::reject_path(path, "names attempt '" + detail::printable(segments[3]) +
                                  "', but comfyq writes attempts as whole numbers from 1 without leading zeros");
  }
  const std::string_view name(segments[4].data(), static_cast<std::size_t>(rest.data() + rest.size() - segments[4].data()));
  return artifact_origin{std::string(segments[1]), std::string(segments[2]), *attempt, std::string(name)};
}

/// Like attribute(), and also throws invalid_input, naming both sides, unless `file` belongs
/// to this tenant, job and attempt: a job only ever claims files its own attempt wrote (not an
/// earlier attempt's leftovers, nor an old file ComfyUI's cache re-announces).
inline artifact_origin attribute_to(const artifact& file, std::string_view tenant, std::string_view job,
                                    std::uint32_t attempt) {
  const std::string folder = attempt_folder(tenant, job, attempt);
  artifact_origin origin = attribute(file);
  const auto mismatch = [&](const char* what, const std::string& theirs, const std::string& ours) {
    detail::reject_path(detail::artifact_path(file), "belongs to " + std::string(what) + " '" + theirs + "', not to " +
                                                         what + " '" + ours + "'; this attempt only claims files under " +
                                                         folder + "/");
  };
  if (origin.tenant != tenant) mismatch("tenant", origin.tenant, std::string(tenant));
  if (origin.job != job) mismatch("job", origin.job, std::string(job));
  if (origin.attempt != attempt) mismatch("attempt", std::to_string(origin.attempt), std::to_string(attempt));
  return origin;
}

}  // namespace comfyq
