#pragma once
// The users of a workshop, made in one step: an admin and participants user01..userNN, each
// with a random password, written as DIR/htpasswd (bcrypt, for nginx and comfyq-server) and
// DIR/credentials.txt ("name:password" lines for the instructor to hand out, readable by its
// owner only). Existing files are never overwritten: passwords already handed out stay valid.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/authenticator.hpp"
#include "comfyq/server/bcrypt.hpp"
#include "comfyq/server/detail/synced_file.hpp"
#include "comfyq/server/htpasswd.hpp"
#include "comfyq/server/passwords.hpp"

namespace comfyq::server {

inline constexpr std::string_view htpasswd_file_name = "htpasswd";
inline constexpr std::string_view credentials_file_name = "credentials.txt";

/// Most participants one call makes.
inline constexpr std::size_t max_participants = 999;

/// What provision_users makes, and where.
struct provisioning_options {
  /// The folder the two files go into; made if missing.
  std::filesystem::path data{};
  /// How many participants: <prefix>01 .. <prefix>NN (three digits from 100 on).
  std::size_t users = 0;
  std::string prefix = "user";
  /// The instructor's user, made besides the participants.
  std::string admin = std::string(default_admin);
  unsigned bcrypt_cost = default_bcrypt_cost;

  /// Throws invalid_input naming the field that is wrong.
  void validate() const {
    if (data.empty()) throw invalid_input("data", "is empty; give the folder for htpasswd and credentials.txt");
    if (users == 0 || users > max_participants) {
      throw invalid_input("users", std::to_string(users) + " is not a number of participants from 1 to " +
                                       std::to_string(max_participants));
    }
    if (!is_valid_id(prefix + "01") || prefix.size() + 3 > max_id_length) {
      throw invalid_input("prefix", "'" + comfyq::detail::printable(prefix) +
                                        "' cannot begin a user name; use up to 61 letters, digits, '.', '_' or '-', "
                                        "starting with a letter or digit");
    }
    validate_id("admin", admin);
    if (admin.starts_with(prefix)) {
      for (const std::string& name : participant_names()) {
        if (name == admin) throw invalid_input("admin", "'" + admin + "' is also a participant's name; choose another");
      }
    }
    if (bcrypt_cost < min_bcrypt_cost || bcrypt_cost > max_bcrypt_cost) {
      throw invalid_input("bcrypt_cost", std::to_string(bcrypt_cost) + " is outside bcrypt's 4..31");
    }
  }

  /// <prefix>01 .. <prefix>NN, numbered with at least two digits.
  std::vector<std::string> participant_names() const {
    const std::size_t width = users < 100 ? 2 : 3;
    std::vector<std::string> names;
    for (std::size_t n = 1; n <= users; ++n) {
      const std::string number = std::to_string(n);
      names.push_back(prefix + std::string(width - std::min(width, number.size()), '0') + number);
    }
    return names;
  }
};

/// What provision_users made.
struct provisioned_users {
  std::filesystem::path htpasswd_file{};
  std::filesystem::path credentials_file{};
  /// The admin first, then the participants.
  std::vector<std::string> names{};
};

namespace detail {

/// The refusal to overwrite `file`, saying what to do instead.
inline invalid_input never_overwritten(const std::filesystem::path& file) {
  const std::string_view partner = file.filename() == htpasswd_file_name ? credentials_file_name : htpasswd_file_name;
  return invalid_input(file.string(),
                       "exists already, and comfyq never overwrites users or passwords: keep using "
                       "it, or move it and its partner " +
                           std::string(partner) + " away to make new ones, or provision into another data folder");
}

/// Makes `file` with exactly `mode` (whatever the umask), failing if anything is there already,
/// even a dangling link.
inline int create_new_file(const std::filesystem::path& file, mode_t mode) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST) throw never_overwritten(file);
  if (fd < 0 || ::fchmod(fd, mode) != 0) {
    const std::error_code error(errno, std::generic_category());
    if (fd >= 0) {
      ::close(fd);
      ::unlink(file.c_str());
    }
    throw std::filesystem::filesystem_error("cannot create", file, error);
  }
  return fd;
}

}  // namespace detail

/// Makes the admin and the participants with new random passwords, and writes `data`/htpasswd
/// (mode 0644: nginx's workers read it; it holds only hashes) and `data`/credentials.txt (mode
/// 0600). Throws invalid_input for wrong options and, naming the file, if either file exists
/// (nothing is written then); std::filesystem::filesystem_error if the files cannot be written
/// (then neither is left behind).
inline provisioned_users provision_users(const provisioning_options& options) {
  options.validate();
  provisioned_users made{.htpasswd_file = options.data / htpasswd_file_name,
                         .credentials_file = options.data / credentials_file_name,
                         .names = options.participant_names()};
  made.names.insert(made.names.begin(), options.admin);
  // Checked before the slow hashing, and again by O_EXCL when the files are made.
  for (const auto& file : {made.credentials_file, made.htpasswd_file}) {
    if (std::filesystem::exists(std::filesystem::symlink_status(file))) throw detail::never_overwritten(file);
  }

  std::string htpasswd_text;
  std::string credentials_text;
  for (const std::string& name : made.names) {
    const std::string password = generate_password();
    htpasswd_text += htpasswd_line(name, bcrypt_hash(password, options.bcrypt_cost));
    credentials_text += name + ":" + password + "\n";
  }

  std::filesystem::create_directories(options.data);
  const int credentials_fd = detail::create_new_file(made.credentials_file, 0600);
  int htpasswd_fd = -1;
  try {
    htpasswd_fd = detail::create_new_file(made.htpasswd_file, 0644);
  } catch (...) {
    ::close(credentials_fd);
    ::unlink(made.credentials_file.c_str());
    throw;
  }
  try {
    detail::write_fully(credentials_fd, credentials_text, made.credentials_file);
    detail::write_fully(htpasswd_fd, htpasswd_text, made.htpasswd_file);
  } catch (...) {
    ::close(credentials_fd);
    ::close(htpasswd_fd);
    ::unlink(made.credentials_file.c_str());
    ::unlink(made.htpasswd_file.c_str());
    throw;
  }
  ::close(credentials_fd);
  ::close(htpasswd_fd);
  return made;
}

}  // namespace comfyq::server
