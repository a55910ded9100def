#pragma once
// A file being written under a temporary name beside its destination and renamed into place
// once whole, so that the destination never holds part of a file: a write that fails or is
// abandoned leaves nothing behind.

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>

#include "comfyq/errors.hpp"

namespace comfyq::comfyui::detail {

class partial_file {
 public:
  /// Opens "<destination>.<random>.part" beside `destination`; throws invalid_input when it
  /// cannot be created (no such folder, no permission).
  explicit partial_file(std::filesystem::path destination)
      : destination_(std::move(destination)), part_(part_name(destination_)) {
    out_.open(part_, std::ios::binary | std::ios::trunc);
    if (!out_) {
      const std::error_code why(errno, std::generic_category());
      throw invalid_input("destination", "'" + destination_.string() + "' cannot be written beside (" + why.message() +
                                             "); give a path in a folder that exists and the worker may write to");
    }
  }
  partial_file(const partial_file&) = delete;
  partial_file& operator=(const partial_file&) = delete;
  ~partial_file() {
    if (committed_) return;
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(part_, ignored);
  }

  /// Appends `size` bytes; throws std::system_error when the disk refuses them.
  void write(const char* bytes, std::size_t size) {
    out_.write(bytes, static_cast<std::streamsize>(size));
    if (!out_) throw std::system_error(errno, std::generic_category(), "writing " + part_.string());
  }

  /// Puts the file whole at its destination, replacing any file there.
  void commit() {
    out_.close();
    if (!out_) throw std::system_error(errno, std::generic_category(), "writing " + part_.string());
    std::filesystem::rename(part_, destination_);
    committed_ = true;
  }

 private:
  // Random, so that two downloads to one destination never write the same temporary file.
  static std::filesystem::path part_name(const std::filesystem::path& destination) {
    std::random_device random;
    return destination.string() + "." + std::to_string(random()) + ".part";
  }

  std::filesystem::path destination_;
  std::filesystem::path part_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace comfyq::comfyui::detail
