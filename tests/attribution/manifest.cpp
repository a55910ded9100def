#include "comfyq/manifest.hpp"

#include <cstddef>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/attribution.hpp"
#include "comfyq/media_types.hpp"
#include "comfyq/util/sha256.hpp"
#include "support/fixtures.hpp"

using comfyq::util::sha256;
using comfyq::util::sha256_hex;

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 pads messages that end at or next to a block boundary") {
  // Reference digests from coreutils' sha256sum.
  CHECK(sha256_hex(std::string(55, 'x')) == "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(sha256_hex(std::string(56, 'x')) == "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(sha256_hex(std::string(64, 'x')) == "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  CHECK(sha256_hex(std::string(119, 'x')) == "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
}

TEST_CASE("sha256 gives the same digest however the bytes are split") {
  const std::string message(1'000'000, 'a');
  const std::size_t chunk = GENERATE(1u, 3u, 63u, 64u, 65u, 4096u, 999'999u);
  sha256 hash;
  for (std::size_t at = 0; at < message.size(); at += chunk) hash.update(std::string_view(message).substr(at, chunk));
  CHECK(hash.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("reading a digest does not end the message") {
  sha256 hash;
  hash.update("ab");
  CHECK(hash.hex_digest() == sha256_hex("ab"));
  CHECK(hash.hex_digest() == sha256_hex("ab"));
  hash.update("c");
  CHECK(hash.hex_digest() == sha256_hex("abc"));
}

TEST_CASE("sha256 hashes bytes, NUL and high bytes included") {
  const std::string bytes("\0\xff\x80", 3);
  CHECK(sha256_hex(bytes) != sha256_hex(""));
  CHECK(sha256_hex(bytes) != sha256_hex(std::string("\0\xff\x81", 3)));
}

TEST_CASE("media types follow the extension, whatever its case") {
  const auto [name, type] = GENERATE(table<std::string, std::string>({
      {"out_00001_.png", "image/png"},
      {"OUT_00001_.PNG", "image/png"},
      {"a.jpg", "image/jpeg"},
      {"a.JpEg", "image/jpeg"},
      {"anim_00001_.webp", "image/webp"},
      {"a.gif", "image/gif"},
      {"svg/ComfyUI_00001_.svg", "image/svg+xml"},
      {"video/ComfyUI_00001_.mp4", "video/mp4"},
      {"a.webm", "video/webm"},
      {"a.mov", "video/quicktime"},
      {"a.mkv", "video/x-matroska"},
      {"audio/ComfyUI_00001_.mp3", "audio/mpeg"},
      {"a.wav", "audio/wav"},
      {"a.flac", "audio/flac"},
      {"a.opus", "audio/opus"},
      {"a.ogg", "audio/ogg"},
      {"mesh/ComfyUI_00001_.glb", "model/gltf-binary"},
      {"a.gltf", "model/gltf+json"},
      {"a.obj", "model/obj"},
      {"latents/ComfyUI_00001_.latent", "application/x-safetensors"},
      {"loras/x_00001_.safetensors", "application/x-safetensors"},
      {"a.txt", "text/plain"},
      {"metadata.json", "application/json"},
      {"page.html", "application/octet-stream"},
      {"script.js", "application/octet-stream"},
      {"shard_0000.pkl", "application/octet-stream"},
      {"archive.tar.gz", "application/octet-stream"},
      {"noextension", "application/octet-stream"},
      {".png", "application/octet-stream"},
      {"trailingdot.", "application/octet-stream"},
      {"folder.png/file", "application/octet-stream"},
      {"", "application/octet-stream"},
  }));
  INFO(name);
  CHECK(comfyq::media_type_for(name) == type);
}

TEST_CASE("a manifest entry describes the file ComfyUI wrote") {
  const std::string png = comfyq::test::fixture_bytes("comfyui/saveimage_out_00001_.png");
  const comfyq::artifact file{"out_00001_.png", "comfyq/tenantA/job-123/1", "output", "3"};
  const auto entry = comfyq::make_manifest_entry(comfyq::attribute(file), file, png);
  CHECK(entry.name == "out_00001_.png");
  CHECK(entry.size == 459);
  // Reference digest from coreutils' sha256sum of the recorded file.
  CHECK(entry.sha256 == "1cfd8644eed1c89b69b15bea325dc7d95d4b21634f8304cef68ca1ee3056b5e9");
  CHECK(entry.media_type == "image/png");
  CHECK(entry.node == "3");
}

TEST_CASE("a manifest entry names the file relative to the attempt folder") {
  const comfyq::artifact file{"clip_00001_.WEBM", "comfyq/t/j/2/video/take", "output", "12"};
  const auto entry = comfyq::make_manifest_entry(comfyq::attribute(file), file, "");
  CHECK(entry == comfyq::manifest_entry{"video/take/clip_00001_.WEBM", 0, sha256_hex(""), "video/webm", "12"});
}
