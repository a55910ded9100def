#pragma once
// What Python's zipfile, an unzipper written by others, reads in a zip archive: each member's
// name and SHA-256, after checking every member's CRC-32.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace comfyq::testing {

/// name → lowercase hex SHA-256 of each member of the archive `bytes`; fails the test when
/// Python finds the archive damaged.
inline std::map<std::string, std::string> unzipped(const std::string& bytes, const std::filesystem::path& scratch) {
  const std::filesystem::path archive = scratch / "archive.zip";
  std::ofstream(archive, std::ios::binary) << bytes;
  const std::string command =
      "python3 -c 'import hashlib, json, sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "bad = z.testzip()\n"
      "print(json.dumps({\"bad\": bad, \"members\": {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}}))' " +
      archive.string();
  FILE* python = ::popen(command.c_str(), "r");
  REQUIRE(python != nullptr);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, python)) > 0;) out.append(buffer, n);
  REQUIRE(::pclose(python) == 0);
  const nlohmann::json read = nlohmann::json::parse(out);
  INFO(out);
  REQUIRE(read.at("bad").is_null());
  return read.at("members").get<std::map<std::string, std::string>>();
}

}  // namespace comfyq::testing
