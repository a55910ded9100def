#pragma once
// SHA-1 as specified in FIPS 180-4, section 6.1. Redis names a cached Lua script by the SHA-1 of
// its source (EVALSHA), and a function library is named after that of its code
// (function_library.hpp). Each computes its digest once, at start-up, so the first call on a
// fresh connection is a single command with no per-connection cache.
// SHA-1's collision weakness does not matter: the digest is a cache key, not a security boundary.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace comfyq::redis::detail {

using sha1_block = std::array<std::uint8_t, 64>;

// Section 6.1.2: one 512-bit block into the five working variables.
constexpr void sha1_compress(std::array<std::uint32_t, 5>& state, const sha1_block& block) noexcept {
  std::array<std::uint32_t, 80> w{};
  for (std::size_t t = 0; t < 16; ++t) {
    w[t] = (std::uint32_t{block[4 * t]} << 24) | (std::uint32_t{block[4 * t + 1]} << 16) |
           (std::uint32_t{block[4 * t + 2]} << 8) | std::uint32_t{block[4 * t + 3]};
  }
  for (std::size_t t = 16; t < 80; ++t) w[t] = std::rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

  auto [a, b, c, d, e] = state;
  for (std::size_t t = 0; t < 80; ++t) {
    std::uint32_t f = 0;
    std::uint32_t k = 0;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const std::uint32_t temp = std::rotl(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = std::rotl(b, 30);
    b = a;
    a = temp;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
}

/// The SHA-1 digest of `bytes` as 40 lowercase hex digits (no terminating zero).
constexpr std::array<char, 40> sha1_hex(std::string_view bytes) noexcept {
  // Initial hash value H(0), section 5.3.1.
  std::array<std::uint32_t, 5> state = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  sha1_block block{};
  std::size_t used = 0;
  for (char c : bytes) {
    block[used++] = static_cast<std::uint8_t>(c);
    if (used == block.size()) {
      sha1_compress(state, block);
      used = 0;
    }
  }
  // Padding (5.1.1): a one bit, zeros up to 56 mod 64 bytes, then the 64-bit big-endian length.
  const std::uint64_t bit_length = std::uint64_t{bytes.size()} * 8;
  block[used++] = 0x80;
  if (used > 56) {
    while (used < 64) block[used++] = 0;
    sha1_compress(state, block);
    used = 0;
  }
  while (used < 56) block[used++] = 0;
  for (int i = 7; i >= 0; --i) block[used++] = static_cast<std::uint8_t>(bit_length >> (8 * i));
  sha1_compress(state, block);

  constexpr std::string_view digits = "0123456789abcdef";
  std::array<char, 40> hex{};
  std::size_t out = 0;
  for (std::uint32_t word : state) {
    for (int shift = 28; shift >= 0; shift -= 4) hex[out++] = digits[(word >> shift) & 0xf];
  }
  return hex;
}

}  // namespace comfyq::redis::detail
