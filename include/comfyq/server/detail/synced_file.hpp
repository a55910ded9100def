#pragma once
// Files the server writes that must survive a crash whole or not at all: written, flushed to
// disk, and only then put in place. Uploads, a worker's outputs, the server's own secrets.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace comfyq::server::detail {

/// Writes all of `text` to `fd` and flushes it to disk; throws std::filesystem::filesystem_error
/// naming `file`. The caller closes `fd`.
inline void write_fully(int fd, std::string_view text, const std::filesystem::path& file) {
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      throw std::filesystem::filesystem_error("cannot write", file, std::error_code(errno, std::generic_category()));
    }
    text.remove_prefix(static_cast<std::size_t>(written));
  }
  if (::fsync(fd) != 0) {
    throw std::filesystem::filesystem_error("cannot write", file, std::error_code(errno, std::generic_category()));
  }
}

/// Puts `bytes` at `file`, replacing what is there, whole or not at all: they are written to a
/// new file in `scratch` (made when missing; on the same file system as `file`), flushed to
/// disk, then renamed into place, `file`'s folders made. Returns the error of putting it in
/// place (a part of its path is a file, or `file` is a folder), having left nothing behind;
/// throws std::filesystem::filesystem_error, having left nothing either, when it cannot be
/// written at all.
inline std::error_code place_synced(const std::filesystem::path& scratch, const std::filesystem::path& file,
                                    std::string_view bytes) {
  std::filesystem::create_directories(scratch);
  std::string partial = (scratch / "upload-XXXXXX").string();
  const int fd = ::mkstemp(partial.data());
  if (fd < 0) {
    throw std::filesystem::filesystem_error("cannot create", partial, std::error_code(errno, std::generic_category()));
  }
  std::error_code placed;
  try {
    write_fully(fd, bytes, partial);
    ::close(fd);
    std::filesystem::create_directories(file.parent_path(), placed);
    if (!placed) std::filesystem::rename(partial, file, placed);
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(partial, placed);
    throw;
  }
  if (placed) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
  }
  return placed;
}

}  // namespace comfyq::server::detail
