#pragma once
// Bytes from the kernel's CSPRNG (getrandom), for password salts and generated passwords.

#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <system_error>

namespace comfyq::server::detail {

/// Fills `bytes` with cryptographically secure random bytes; throws std::system_error if the
/// kernel cannot give them (never falls back to a weaker source).
inline void fill_random(std::span<std::byte> bytes) {
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t got = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    filled += static_cast<std::size_t>(got);
  }
}

}  // namespace comfyq::server::detail
