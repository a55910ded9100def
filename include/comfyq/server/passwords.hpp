#pragma once
// Passwords comfyq makes for people: random, and easy to read aloud and type.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "comfyq/server/detail/random_bytes.hpp"

namespace comfyq::server {

/// Lower-case letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i).
inline constexpr std::string_view password_alphabet = "23456789abcdefghjkmnpqrstuvwxyz";

/// A new password from the kernel's CSPRNG: three groups of four from password_alphabet,
/// e.g. "k7mq-3xrt-p9aw", about 59 random bits.
inline std::string generate_password() {
  // Rejection sampling: bytes at or above the largest multiple of the alphabet's size would
  // make the first letters likelier.
  constexpr unsigned alphabet_size = password_alphabet.size();
  constexpr unsigned unbiased_below = 256 / alphabet_size * alphabet_size;
  std::string password;
  std::array<std::byte, 32> random;
  std::size_t used = random.size();
  while (password.size() < 14) {
    if (password.size() == 4 || password.size() == 9) {
      password += '-';
      continue;
    }
    if (used == random.size()) {
      detail::fill_random(random);
      used = 0;
    }
    const auto value = static_cast<unsigned>(random[used++]);
    if (value < unbiased_below) password += password_alphabet[value % alphabet_size];
  }
  return password;
}

}  // namespace comfyq::server
