// The SHA-1 behind EVALSHA: the FIPS 180 test vectors, at compile time and at run time.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "comfyq/redis/detail/sha1.hpp"
#include "comfyq/redis/script.hpp"

using comfyq::redis::detail::sha1_hex;

namespace {
std::string hex(std::string_view bytes) {
  const auto digest = sha1_hex(bytes);
  return std::string(digest.begin(), digest.end());
}
}  // namespace

TEST_CASE("sha1 gives the FIPS 180 digests", "[redis][sha1]") {
  CHECK(hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(hex(std::string(1'000'000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("sha1 pads messages that end next to a block boundary", "[redis][sha1]") {
  // 55 bytes fit the padding into one block, 56 need a second one, 64 are a whole block.
  CHECK(hex(std::string(55, 'a')) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  CHECK(hex(std::string(56, 'a')) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  CHECK(hex(std::string(64, 'a')) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST_CASE("a script carries the digest Redis names it by", "[redis][sha1]") {
  const comfyq::redis::script abc{"abc", "abc"};
  CHECK(abc.sha1() == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(abc.name() == "abc");
  CHECK(abc.source() == "abc");
}
