#pragma once
// A server's first start makes its users: with its own password check (auth_mode::htpasswd)
// and no <data>/htpasswd yet, an admin and the participants are provisioned there, as
// `comfyq-server init` would; and the token of workers on other machines, <data>/worker-token.
// Later starts use the files as they are: passwords and tokens handed out stay valid, and an
// operator's edits are kept.

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "comfyq/errors.hpp"
#include "comfyq/server/detail/random_bytes.hpp"
#include "comfyq/server/detail/synced_file.hpp"
#include "comfyq/server/provisioning.hpp"
#include "comfyq/server/serve_settings.hpp"

namespace comfyq::server {

/// The users made now, or nothing when the server needs none made (they exist, or a proxy
/// authenticates). Throws as provision_users does, e.g. when credentials.txt is there alone.
inline std::optional<provisioned_users> make_users_on_first_start(const serve_settings& settings) {
  if (settings.auth != auth_mode::htpasswd) return std::nullopt;
  if (std::filesystem::exists(std::filesystem::symlink_status(settings.htpasswd_file()))) return std::nullopt;
  return provision_users(settings.provisioning());
}

/// The token workers on other machines send (comfyq-worker --files-token): the one in
/// <data>/worker-token, made there when missing (256 random bits as hex, mode 0600). Throws
/// invalid_input naming the file when it holds no token, std::filesystem::filesystem_error
/// when it cannot be read or made.
inline std::string worker_token_on_first_start(const serve_settings& settings) {
  const std::filesystem::path file = settings.worker_token_file();
  if (!std::filesystem::exists(std::filesystem::symlink_status(file))) {
    std::array<std::byte, 32> random;
    detail::fill_random(random);
    std::string token;
    for (const std::byte b : random) {
      static constexpr char hex[] = "0123456789abcdef";
      token += hex[std::to_integer<unsigned>(b) >> 4];
      token += hex[std::to_integer<unsigned>(b) & 0xf];
    }
    std::filesystem::create_directories(settings.data);
    const int fd = detail::create_new_file(file, 0600);
    try {
      detail::write_fully(fd, token + "\n", file);
    } catch (...) {
      ::close(fd);
      ::unlink(file.c_str());
      throw;
    }
    ::close(fd);
    return token;
  }
  std::ifstream in(file);
  std::string token;
  in >> token;
  if (in.bad()) {
    throw std::filesystem::filesystem_error("cannot read", file, std::error_code(errno, std::generic_category()));
  }
  if (token.empty()) {
    throw invalid_input(file.string(), "holds no token; write one (a long random text) into it, or remove it to have "
                                       "one made");
  }
  return token;
}

}  // namespace comfyq::server
