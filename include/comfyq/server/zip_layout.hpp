#pragma once
// The bytes of a zip archive around its members' contents, for an archive streamed while it is
// made: members stored as they are (images and videos are compressed already), each followed by
// a data descriptor with the CRC-32 computed while it was sent, then the central directory.
// Every size is known before the first byte, so the archive's length is too (Content-Length).
// Plain zip, not Zip64: an archive, and each member, stays under 4 GiB, and under 65,535 members.

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"

namespace comfyq::server {

/// One file of an archive: its name there ("job-id/out_00001_.png") and size.
struct zip_member {
  std::string name;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified{};
};

class zip_layout {
 public:
  /// Throws invalid_input naming "archive" when the archive would need Zip64.
  explicit zip_layout(std::vector<zip_member> members) : members_(std::move(members)), crcs_(members_.size()) {
    if (members_.size() >= 0xffff) too_large(std::to_string(members_.size()) + " files");
    std::uint64_t offset = 0;
    for (const zip_member& m : members_) {
      offsets_.push_back(offset);
      offset += local_header_bytes + m.name.size() + m.size + data_descriptor_bytes;
      central_bytes_ += central_header_bytes + m.name.size();
    }
    central_offset_ = offset;
    if (central_offset_ + central_bytes_ + end_bytes >= std::numeric_limits<std::uint32_t>::max()) {
      too_large(std::to_string(size() >> 20) + " MiB");
    }
  }

  const std::vector<zip_member>& members() const noexcept { return members_; }

  /// The whole archive's length in bytes.
  std::uint64_t size() const noexcept { return central_offset_ + central_bytes_ + end_bytes; }

  /// What comes before member i's content.
  std::string local_header(std::size_t i) const {
    const zip_member& m = members_[i];
    std::string out;
    put32(out, 0x04034b50);
    put16(out, version_needed);
    put16(out, flags);
    put16(out, 0);  // stored
    put_time(out, m.modified);
    put32(out, 0);  // CRC-32 and sizes: in the data descriptor (flag bit 3)
    put32(out, 0);
    put32(out, 0);
    put16(out, static_cast<std::uint16_t>(m.name.size()));
    put16(out, 0);
    out += m.name;
    return out;
  }

  /// What comes after member i's content, whose CRC-32 is `crc`; remembered for the directory.
  std::string data_descriptor(std::size_t i, std::uint32_t crc) {
    crcs_[i] = crc;
    std::string out;
    put32(out, 0x08074b50);
    put32(out, crc);
    put32(out, static_cast<std::uint32_t>(members_[i].size));
    put32(out, static_cast<std::uint32_t>(members_[i].size));
    return out;
  }

  /// The central directory and its end record, after every member's data descriptor.
  std::string central_directory() const {
    std::string out;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      const zip_member& m = members_[i];
      put32(out, 0x02014b50);
      put16(out, 0x031e);  // made by: Unix, zip 3.0
      put16(out, version_needed);
      put16(out, flags);
      put16(out, 0);
      put_time(out, m.modified);
      put32(out, crcs_[i]);
      put32(out, static_cast<std::uint32_t>(m.size));
      put32(out, static_cast<std::uint32_t>(m.size));
      put16(out, static_cast<std::uint16_t>(m.name.size()));
      put16(out, 0);  // extra field
      put16(out, 0);  // comment
      put16(out, 0);  // disk
      put16(out, 0);  // internal attributes
      put32(out, 0100644u << 16);  // external attributes: a regular file, rw-r--r--
      put32(out, static_cast<std::uint32_t>(offsets_[i]));
      out += m.name;
    }
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<std::uint16_t>(members_.size()));
    put16(out, static_cast<std::uint16_t>(members_.size()));
    put32(out, static_cast<std::uint32_t>(central_bytes_));
    put32(out, static_cast<std::uint32_t>(central_offset_));
    put16(out, 0);
    return out;
  }

 private:
  static constexpr std::uint64_t local_header_bytes = 30, data_descriptor_bytes = 16, central_header_bytes = 46,
                                 end_bytes = 22;
  static constexpr std::uint16_t version_needed = 20;
  static constexpr std::uint16_t flags = 0x0008 | 0x0800;  // data descriptor, UTF-8 names

  [[noreturn]] static void too_large(const std::string& what) {
    throw invalid_input("archive", "would hold " + what +
                                       ", more than a zip archive without Zip64 can (4 GiB, 65,534 files); "
                                       "download the jobs one at a time");
  }

  static void put16(std::string& out, std::uint16_t v) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>(v >> 8);
  }
  static void put32(std::string& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v & 0xffff));
    put16(out, static_cast<std::uint16_t>(v >> 16));
  }

  // MS-DOS time then date, in UTC (zip has no time zone); 1980 for anything older.
  static void put_time(std::string& out, std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const sys_days day = floor<days>(t);
    const year_month_day date{day};
    const hh_mm_ss time{floor<seconds>(t - day)};
    if (date.year() < year{1980}) {
      put16(out, 0);
      put16(out, (1 << 5) | 1);
      return;
    }
    put16(out, static_cast<std::uint16_t>(time.hours().count() << 11 | time.minutes().count() << 5 |
                                          time.seconds().count() / 2));
    put16(out, static_cast<std::uint16_t>((static_cast<int>(date.year()) - 1980) << 9 |
                                          static_cast<unsigned>(date.month()) << 5 | static_cast<unsigned>(date.day())));
  }

  std::vector<zip_member> members_;
  std::vector<std::uint32_t> crcs_;
  std::vector<std::uint64_t> offsets_;
  std::uint64_t central_offset_ = 0;
  std::uint64_t central_bytes_ = 0;
};

}  // namespace comfyq::server
