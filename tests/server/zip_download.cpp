// The zip archives downloads stream: their length known in advance, their bytes what an
// unzipper written by others reads back whole, with every CRC-32 right.

#include <fstream>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/download.hpp"
#include "comfyq/util/crc32.hpp"
#include "comfyq/util/sha256.hpp"
#include "server/zip_reading.hpp"
#include "support/scratch_folder.hpp"

namespace {

std::string whole_body(comfyq::server::body_source& source) {
  std::string body;
  while (auto chunk = source.next()) body += *chunk;
  return body;
}

TEST_CASE("CRC-32 gives the check value of its standard", "[server][files]") {
  comfyq::util::crc32 crc;
  crc.update("12345");
  crc.update("6789");
  CHECK(crc.value() == 0xCBF43926u);
  CHECK(comfyq::util::crc32{}.value() == 0u);
}

TEST_CASE("a streamed zip archive is as long as announced and unzips to its files", "[server][files]") {
  const comfyq::testing::scratch_folder scratch;
  const std::map<std::string, std::string> contents{
      {"job-a/out_00001_.png", std::string(200000, 'p')}, {"job-a/empty.txt", ""}, {"job-b/clips/v.mp4", "video"}};
  std::vector<comfyq::server::zip_member> members;
  std::vector<std::filesystem::path> files;
  for (const auto& [name, bytes] : contents) {
    const std::filesystem::path file = scratch.path() / std::to_string(files.size());
    std::ofstream(file, std::ios::binary) << bytes;
    members.push_back({name, bytes.size(), std::chrono::system_clock::now()});
    files.push_back(file);
  }
  comfyq::server::zip_source source(comfyq::server::zip_layout(members), files);
  const std::uint64_t announced = source.size();
  const std::string archive = whole_body(source);
  CHECK(archive.size() == announced);

  std::map<std::string, std::string> expected;
  for (const auto& [name, bytes] : contents) expected[name] = comfyq::util::sha256_hex(bytes);
  CHECK(comfyq::testing::unzipped(archive, scratch.path()) == expected);
}

TEST_CASE("an archive of no files is the 22 bytes of an empty zip", "[server][files]") {
  const comfyq::testing::scratch_folder scratch;
  comfyq::server::zip_source source(comfyq::server::zip_layout({}), {});
  const std::string archive = whole_body(source);
  CHECK(archive.size() == 22);
  CHECK(comfyq::testing::unzipped(archive, scratch.path()).empty());
}

TEST_CASE("a file that got shorter than announced ends the body with an error", "[server][files]") {
  const comfyq::testing::scratch_folder scratch;
  std::ofstream(scratch.path() / "short", std::ios::binary) << "abc";
  comfyq::server::file_source source(scratch.path() / "short", 10);
  CHECK_THROWS(whole_body(source));
}

TEST_CASE("an archive that would need Zip64 is refused before anything is sent", "[server][files]") {
  const std::vector<comfyq::server::zip_member> members{{"a", 3ull << 30, {}}, {"b", 2ull << 30, {}}};
  CHECK_THROWS_AS(comfyq::server::zip_layout(members), comfyq::invalid_input);
}

}  // namespace
