#pragma once
// HTTP Basic credentials (RFC 7617): "Authorization: Basic base64(user:password)".

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "comfyq/errors.hpp"
#include "comfyq/server/detail/base64_decode.hpp"
#include "comfyq/server/request_headers.hpp"

namespace comfyq::server {

/// A user name and password as a client sent them; nothing is checked yet.
struct basic_credentials {
  std::string user{};
  std::string password{};
};

/// The credentials in the value of an Authorization header. Throws invalid_input (field
/// "Authorization") saying what is wrong: another scheme, no credentials, not base64, no ':'
/// after the user name, an empty user name.
inline basic_credentials parse_basic_authorization(std::string_view value) {
  const auto refuse = [](const std::string& why) {
    return invalid_input("Authorization", why + "; send \"Basic \" followed by base64 of user:password");
  };
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_space(value.back())) value.remove_suffix(1);

  const std::size_t scheme_end = value.find_first_of(" \t");
  const std::string_view scheme = value.substr(0, scheme_end);
  if (!equals_ignoring_case(scheme, "Basic")) {
    throw refuse(scheme.empty() ? std::string("is empty") : "uses a scheme other than Basic");
  }
  std::string_view encoded = scheme_end == std::string_view::npos ? std::string_view{} : value.substr(scheme_end);
  while (!encoded.empty() && is_space(encoded.front())) encoded.remove_prefix(1);
  if (encoded.empty()) throw refuse("has no credentials after \"Basic\"");

  const std::optional<std::string> decoded = detail::base64_decode(encoded);
  if (!decoded) throw refuse("has credentials that are not valid base64");
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) throw refuse("has no ':' between the user name and the password");
  if (colon == 0) throw refuse("has an empty user name");
  return {decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace comfyq::server
