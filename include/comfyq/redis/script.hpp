#pragma once
// A Lua script that runs inside Redis, identified there by the SHA-1 of its source.

#include <array>
#include <string_view>

#include "comfyq/redis/detail/sha1.hpp"

namespace comfyq::redis {

/// A named Lua script; run it with connection::eval. Meant to be a program-wide constant:
///
///     inline const comfyq::redis::script lease_job{"lease_job", R"lua(
///       -- KEYS[1] queue, ARGV[1] worker ...
///     )lua"};
///
/// It refers to `name` and `source` without copying them: give it strings that outlive it.
/// The digest is computed once, when the script is constructed: at compile time it cost every
/// translation unit that includes the store tens of seconds and clang's constexpr step limit.
class script {
 public:
  script(std::string_view name, std::string_view source) noexcept
      : name_(name), source_(source), sha1_(detail::sha1_hex(source)) {}

  /// What the script is for, e.g. "lease_job": shows up in messages about it.
  std::string_view name() const noexcept { return name_; }
  std::string_view source() const noexcept { return source_; }
  /// The SHA-1 of the source in lowercase hex: the name Redis caches the script under.
  std::string_view sha1() const noexcept { return {sha1_.data(), sha1_.size()}; }

 private:
  std::string_view name_;
  std::string_view source_;
  std::array<char, 40> sha1_;
};

}  // namespace comfyq::redis
