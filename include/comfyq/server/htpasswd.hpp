#pragma once
// The users comfyq-server knows: an htpasswd file of "name:bcrypt-hash" lines, the file
// nginx's auth_basic_user_file reads too. Blank lines and lines starting with '#' are skipped.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/bcrypt.hpp"
#include "comfyq/util/string_map.hpp"

namespace comfyq::server {

/// User names and their bcrypt hashes; a user name is also the user's tenant id.
class htpasswd {
 public:
  /// Reads `text`. Throws invalid_input naming `source` (the file) and listing every malformed
  /// line by number: no ':', a user name that is not a valid tenant id, a hash that is not
  /// bcrypt, a user named twice; or no user at all.
  static htpasswd parse(std::string_view text, const std::string& source = "htpasswd") {
    htpasswd users;
    util::string_map<std::size_t> first_line_of;
    std::string problems;
    const auto report = [&](std::size_t line, const std::string& problem) {
      problems += problems.empty() ? "" : "; ";
      problems += "line " + std::to_string(line) + ": " + problem;
    };
    std::size_t number = 0;
    while (!text.empty()) {
      ++number;
      const std::size_t end = text.find('\n');
      std::string_view line = text.substr(0, end);
      text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.empty() || line.front() == '#') continue;

      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        report(number, "no ':' between the user name and the hash");
        continue;
      }
      const std::string_view name = line.substr(0, colon);
      const std::string_view hash = line.substr(colon + 1);
      const std::string shown = comfyq::detail::printable(name);
      if (!is_valid_id(name)) {
        report(number, "'" + shown +
                           "' is not a valid user name: use 1-64 letters, digits, '.', '_' or '-', starting "
                           "with a letter or digit (it is also the user's tenant id)");
      } else if (!is_bcrypt_hash(hash)) {
        report(number, "the hash of '" + shown +
                           "' is not bcrypt ($2y$ or $2b$); make it again with "
                           "`htpasswd -B <file> " +
                           shown + "`");
      } else if (const auto first = first_line_of.find(name); first != first_line_of.end()) {
        report(number, "'" + shown + "' is already on line " + std::to_string(first->second) + "; keep one of them");
      } else {
        first_line_of.emplace(name, number);
        users.hashes_.emplace(name, hash);
      }
    }
    if (!problems.empty()) throw invalid_input(source, problems);
    if (users.hashes_.empty()) {
      throw invalid_input(source, "has no users; make them with `comfyq-server init` or `htpasswd -B`");
    }
    return users;
  }

  /// Reads the file at `path` (see parse). Throws invalid_input naming the file if it cannot be read.
  static htpasswd load(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    if (!(file && text << file.rdbuf())) {
      throw invalid_input(path.string(),
                          "cannot be read; check that it exists and that this user may read it, "
                          "or make it with `comfyq-server init`");
    }
    return parse(text.view(), path.string());
  }

  /// True if `user` is listed and `password` is theirs. An unknown user costs as much time as a
  /// known one, so the time of an answer does not tell which names exist.
  bool verify(std::string_view user, std::string_view password) const {
    const auto entry = hashes_.find(user);
    if (entry == hashes_.end()) {
      bcrypt_verify(password, hashes_.begin()->second);
      return false;
    }
    return bcrypt_verify(password, entry->second);
  }

  std::size_t size() const { return hashes_.size(); }

 private:
  htpasswd() = default;

  util::string_map<std::string> hashes_;
};

/// One line of an htpasswd file: "user:hash\n".
inline std::string htpasswd_line(std::string_view user, std::string_view hash) {
  std::string line(user);
  line += ':';
  line += hash;
  line += '\n';
  return line;
}

}  // namespace comfyq::server
