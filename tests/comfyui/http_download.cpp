// http_client::download: a file ComfyUI serves, streamed to disk and measured on the way, bounded
// by max_download_bytes, and never left half-written at its destination.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/util/sha256.hpp"
#include "comfyui/impostor.hpp"
#include "comfyui/standin_clients.hpp"
#include "support/expect_error.hpp"

namespace comfyui = comfyq::comfyui;
namespace clients = comfyq::testing::clients;
namespace contract = comfyq::testing::contract;
namespace fs = std::filesystem;
using comfyq::test::expect_error;

namespace {

/// `size` bytes of every value, so that a byte lost or moved changes the digest.
std::string pattern_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7919 + i / 251) & 0xff);
  return bytes;
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  return names;
}

/// A stand-in with `knobs`, and an empty folder to download into.
struct download_fixture {
  explicit download_fixture(comfyq::testing::behaviour knobs = {}) : standin(std::move(knobs)) {
    fs::create_directories(folder);
  }
  contract::standin_fixture standin;
  fs::path folder = standin.scratch.path() / "downloads";
};

}  // namespace

TEST_CASE("a download writes the file whole at its destination, with its size and sha256",
          "[comfyui][http_client][download]") {
  comfyq::testing::behaviour knobs;
  knobs.split_writes = GENERATE(false, true);
  INFO("split_writes " << knobs.split_writes);
  download_fixture f(knobs);
  comfyui::http_client comfyui(clients::options_for(f.standin.standin.port()));
  const std::string bytes = pattern_bytes(300'000);  // several pieces of the download
  const comfyq::artifact stored = comfyui.upload_image(bytes, {.name = "big.bin", .subfolder = "tenantD"});

  const auto got = comfyui.download(stored, f.folder / "big.bin");
  REQUIRE(got.has_value());
  CHECK(got->size == bytes.size());
  CHECK(got->sha256 == comfyq::util::sha256_hex(bytes));
  CHECK(file_text(f.folder / "big.bin") == bytes);
  CHECK(names_in(f.folder) == std::vector<std::string>{"big.bin"});

  SECTION("an empty file too") {
    const comfyq::artifact empty = comfyui.upload_image("", {.name = "empty.bin", .subfolder = "tenantD"});
    const auto nothing = comfyui.download(empty, f.folder / "empty.bin");
    REQUIRE(nothing.has_value());
    CHECK(nothing->size == 0);
    CHECK(nothing->sha256 == comfyq::util::sha256_hex(""));
    CHECK(fs::exists(f.folder / "empty.bin"));
  }
}

TEST_CASE("a download of a file ComfyUI does not have, or refuses to serve, writes nothing",
          "[comfyui][http_client][download]") {
  download_fixture f;
  comfyui::http_client comfyui(clients::options_for(f.standin.standin.port()));
  CHECK_FALSE(comfyui.download({.filename = "gone.png", .subfolder = "", .type = "temp", .node = ""}, f.folder / "a")
                  .has_value());
  CHECK(expect_error<comfyq::invalid_input>([&] {
          comfyui.download({.filename = "../secret.png", .subfolder = "", .type = "output", .node = ""}, f.folder / "b");
        }).field() == "artifact.filename");
  CHECK(expect_error<comfyq::invalid_input>([&] {
          comfyui.download({.filename = "a.png", .subfolder = "../../etc", .type = "output", .node = ""}, f.folder / "c");
        }).field() == "artifact.subfolder");
  CHECK(names_in(f.folder).empty());
}

TEST_CASE("a file above max_download_bytes is refused, naming the option, and nothing is written",
          "[comfyui][http_client][download]") {
  download_fixture f;
  comfyui::client_options options = clients::options_for(f.standin.standin.port());
  const comfyq::artifact stored =
      comfyui::http_client(options).upload_image(pattern_bytes(5000), {.name = "large.bin", .subfolder = "tenantD"});
  options.max_download_bytes = 4999;

  const auto refused =
      expect_error<comfyq::invalid_input>([&] { comfyui::http_client(options).download(stored, f.folder / "large.bin"); });
  CHECK(refused.field() == "comfyui.max_download_bytes");
  CHECK_THAT(refused.what(), Catch::Contains("is 4999 bytes") && Catch::Contains("answered with 5000 bytes") &&
                                 Catch::Contains("raise it"));
  CHECK(names_in(f.folder).empty());

  options.max_download_bytes = 5000;
  CHECK(comfyui::http_client(options).download(stored, f.folder / "large.bin")->size == 5000);
}

TEST_CASE("a download cut off midway leaves nothing behind, and an earlier file as it was",
          "[comfyui][http_client][download]") {
  contract::scratch_folder scratch;
  const fs::path destination = scratch.path() / "out.png";
  std::ofstream(destination) << "the earlier file";
  const std::string header = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 200000\r\n\r\n";
  const comfyq::artifact file{.filename = "out.png", .subfolder = "", .type = "output", .node = "9"};

  SECTION("ComfyUI goes away") {
    clients::impostor dying(header + pattern_bytes(100'000), clients::impostor::then::close);
    const auto error = expect_error<comfyq::comfyui_unavailable>(
        [&] { comfyui::http_client(clients::options_for(dying.port())).download(file, destination); });
    CHECK_THAT(error.what(), Catch::Contains("closed the connection before its answer was whole"));
  }
  SECTION("ComfyUI stops sending") {
    clients::impostor stalled(header + pattern_bytes(100'000));
    comfyui::client_options options = clients::options_for(stalled.port());
    options.request_timeout = std::chrono::milliseconds(300);
    const auto error =
        expect_error<comfyq::comfyui_unavailable>([&] { comfyui::http_client(options).download(file, destination); });
    CHECK_THAT(error.what(), Catch::Contains("no answer within 300 ms"));
  }
  CHECK(names_in(scratch.path()) == std::vector<std::string>{"out.png"});
  CHECK(file_text(destination) == "the earlier file");
}

TEST_CASE("a download into a folder that does not exist names the destination", "[comfyui][http_client][download]") {
  download_fixture f;
  comfyui::http_client comfyui(clients::options_for(f.standin.standin.port()));
  const comfyq::artifact stored = comfyui.upload_image("bytes", {.name = "x.bin", .subfolder = "tenantD"});
  CHECK(expect_error<comfyq::invalid_input>([&] { comfyui.download(stored, f.folder / "missing" / "x.bin"); }).field() ==
        "destination");
}
