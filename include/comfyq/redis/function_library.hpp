#pragma once
// A library of Lua functions that runs inside Redis (Redis Functions, Redis 7): loaded once with
// FUNCTION LOAD, its code defined once there, each function then called by name with FCALL. A
// script run with EVALSHA defines everything it holds anew on every call.

#include <string>
#include <string_view>

#include "comfyq/redis/detail/sha1.hpp"

namespace comfyq::redis {

/// The library's code registers each function under FUNCTION_PREFIX followed by its name:
///
///     inline const comfyq::redis::function_library counters{"counters", R"lua(
///       redis.register_function(FUNCTION_PREFIX .. 'bump', function(KEYS, ARGV)
///         return redis.call('INCR', KEYS[1])
///       end)
///     )lua"};
///     inline const comfyq::redis::library_function bump{counters, "bump"};
///
/// The library is named after its stem and the SHA-1 of its code, and so are its functions:
/// processes that run different code against one Redis (an upgrade under way) each call their
/// own, and never replace one another's.
class function_library {
 public:
  function_library(std::string_view stem, std::string_view code)
      : name_(std::string(stem) + "_" + std::string(detail::sha1_hex(code).data(), 12)),
        source_("#!lua name=" + name_ + "\nlocal FUNCTION_PREFIX = '" + name_ + "_'\n" + std::string(code)) {}

  /// "<stem>_<12 hex digits>", the name Redis keeps the library under.
  const std::string& name() const noexcept { return name_; }
  /// What FUNCTION LOAD is given: the code, after the header that names the library.
  const std::string& source() const noexcept { return source_; }

 private:
  std::string name_;
  std::string source_;
};

/// One function of a library; run it with connection::fcall. It refers to its library without
/// copying it: give it one that outlives it.
class library_function {
 public:
  library_function(const function_library& library, std::string_view name)
      : library_(&library), name_(name), registered_name_(library.name() + "_" + std::string(name)) {}

  /// What the function is for, e.g. "lease": shows up in messages about it.
  std::string_view name() const noexcept { return name_; }
  /// The name FCALL calls it by: "<library name>_<name>".
  std::string_view registered_name() const noexcept { return registered_name_; }
  const function_library& library() const noexcept { return *library_; }

 private:
  const function_library* library_;
  std::string_view name_;
  std::string registered_name_;
};

}  // namespace comfyq::redis
