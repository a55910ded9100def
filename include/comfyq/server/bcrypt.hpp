#pragma once
// bcrypt password hashes, made and checked by libxcrypt (crypt_r): the format of nginx's
// auth_basic_user_file and of Apache's `htpasswd -B`, so one htpasswd file serves nginx and
// comfyq-server alike. Links libcrypt (Debian: libcrypt-dev).

#include <crypt.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "comfyq/errors.hpp"
#include "comfyq/server/detail/constant_time.hpp"
#include "comfyq/server/detail/random_bytes.hpp"

namespace comfyq::server {

/// bcrypt's own bounds on the cost factor (2^cost rounds).
inline constexpr unsigned min_bcrypt_cost = 4;
inline constexpr unsigned max_bcrypt_cost = 31;

/// The cost factor new hashes get: bcrypt's lowest, on purpose. nginx checks the password of
/// every request in its event loop: about 1 ms at cost 4; at cost 8, 13 ms, and two cores then
/// serve no more than about 140 requests a second. A high cost slows the guessing of weak
/// passwords; the passwords comfyq generates carry 59 random bits, and guessing one of those at
/// cost 4 takes about 2^58 hashes, thousands of years at a million hashes a second.
inline constexpr unsigned default_bcrypt_cost = min_bcrypt_cost;

/// bcrypt reads no further than this many bytes of a password.
inline constexpr std::size_t max_bcrypt_password_bytes = 72;

/// True if `hash` is a bcrypt hash this library checks: "$2b$" or "$2y$", a two-digit cost,
/// "$", then 53 characters of bcrypt's base64 (salt and digest), 60 characters in all.
inline bool is_bcrypt_hash(std::string_view hash) {
  if (hash.size() != 60 || !(hash.starts_with("$2b$") || hash.starts_with("$2y$")) || hash[6] != '$') return false;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digit(hash[4]) || !digit(hash[5])) return false;
  const unsigned cost = static_cast<unsigned>((hash[4] - '0') * 10 + (hash[5] - '0'));
  if (cost < min_bcrypt_cost || cost > max_bcrypt_cost) return false;
  for (char c : hash.substr(7)) {
    const bool base64 = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || c == '.' || c == '/';
    if (!base64) return false;
  }
  return true;
}

namespace detail {

/// crypt_r's answer for `password` and `setting` (a hash or a salt), or "" if it refuses.
inline std::string crypt_with(std::string_view password, const char* setting) {
  // crypt_data is about 32 KB: too much for the stack of an I/O thread.
  const auto work = std::make_unique<crypt_data>();
  const std::string terminated(password);
  const char* result = ::crypt_r(terminated.c_str(), setting, work.get());
  // libxcrypt answers a refusal with a string starting with '*' (or NULL on some systems).
  if (result == nullptr || result[0] == '*') return {};
  return result;
}

}  // namespace detail

/// A new "$2b$" hash of `password` with a random salt. Throws invalid_input ("password") for a
/// password bcrypt would silently cut (a NUL byte, more than 72 bytes) and ("bcrypt_cost") for a
/// cost outside 4..31; std::system_error if the system cannot give random bytes or hash.
inline std::string bcrypt_hash(std::string_view password, unsigned cost = default_bcrypt_cost) {
  if (password.find('\0') != std::string_view::npos) {
    throw invalid_input("password", "contains a NUL byte, where bcrypt would cut it; choose another password");
  }
  if (password.size() > max_bcrypt_password_bytes) {
    throw invalid_input("password", "is " + std::to_string(password.size()) +
                                        " bytes long, but bcrypt reads only the first 72; choose a shorter one");
  }
  if (cost < min_bcrypt_cost || cost > max_bcrypt_cost) {
    throw invalid_input("bcrypt_cost", std::to_string(cost) + " is outside bcrypt's 4..31");
  }
  std::array<std::byte, 16> salt_bytes;
  detail::fill_random(salt_bytes);
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  if (::crypt_gensalt_rn("$2b$", cost, reinterpret_cast<const char*>(salt_bytes.data()),
                         static_cast<int>(salt_bytes.size()), setting.data(),
                         static_cast<int>(setting.size())) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "crypt_gensalt_rn($2b$)");
  }
  std::string hash = detail::crypt_with(password, setting.data());
  if (!is_bcrypt_hash(hash)) throw std::system_error(EINVAL, std::generic_category(), "crypt_r($2b$)");
  return hash;
}

/// True if `password` is the one `hash` (a bcrypt hash, see is_bcrypt_hash) was made from. The
/// comparison takes the same time wherever the hashes differ. A password with a NUL byte never
/// matches: crypt would read only the part before it.
inline bool bcrypt_verify(std::string_view password, std::string_view hash) {
  if (!is_bcrypt_hash(hash) || password.find('\0') != std::string_view::npos) return false;
  const std::string computed = detail::crypt_with(password, std::string(hash).c_str());
  return detail::equal_in_constant_time(computed, hash);
}

}  // namespace comfyq::server
