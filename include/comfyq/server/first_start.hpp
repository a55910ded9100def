#pragma once
// A server's first start makes its users: with its own password check (auth_mode::htpasswd)
// and no <data>/htpasswd yet, an admin and the participants are provisioned there, as
// `comfyq-server init` would. Later starts use the files as they are: passwords handed out
// stay valid, and an operator's edits to htpasswd are kept.

#include <filesystem>
#include <optional>

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

}  // namespace comfyq::server
