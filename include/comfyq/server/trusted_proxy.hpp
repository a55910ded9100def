#pragma once
// Identity from a proxy in front of comfyq-server (nginx with auth_basic): the proxy checks
// the password and names the user in a header. That header is believed only from the
// configured proxy addresses; from anyone else it is ignored, since any client can send it.

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/errors.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/server/detail/ip_address.hpp"
#include "comfyq/server/request_headers.hpp"

namespace comfyq::server {

/// The header nginx-config's site puts the authenticated user name in.
inline constexpr std::string_view default_user_header = "X-Remote-User";

/// Which peers are trusted proxies, and the header they name the user in.
struct trusted_proxy_settings {
  /// IPv4 or IPv6 addresses of the proxies (nginx on the same machine: 127.0.0.1, ::1).
  /// Empty: no proxy is trusted.
  std::vector<std::string> addresses{};
  std::string user_header = std::string(default_user_header);

  /// Throws invalid_input naming the field for an address that is not an IP address or a
  /// header name that is not an HTTP token.
  void validate() const {
    for (const std::string& address : addresses) {
      if (!detail::parse_ip_address(address)) {
        throw invalid_input("trusted_proxies", "'" + comfyq::detail::printable(address) +
                                                   "' is not an IPv4 or IPv6 address; give the address the proxy "
                                                   "connects from, e.g. 127.0.0.1");
      }
    }
    const auto token_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    };
    if (user_header.empty() || !std::all_of(user_header.begin(), user_header.end(), token_char)) {
      throw invalid_input("user_header", "'" + comfyq::detail::printable(user_header) +
                                             "' is not a header name; use letters, digits and '-', e.g. " +
                                             std::string(default_user_header));
    }
  }

  /// True if `peer` (the address the connection comes from) is one of the trusted proxies.
  bool trusts(std::string_view peer) const {
    const auto peer_address = detail::parse_ip_address(peer);
    return peer_address && std::any_of(addresses.begin(), addresses.end(), [&](const std::string& address) {
             return detail::parse_ip_address(address) == peer_address;
           });
  }
};

/// What the proxy header says about a request.
struct proxy_identity {
  enum class verdict {
    untrusted_peer,  ///< the peer is no trusted proxy: its header, if any, means nothing
    user,            ///< a trusted proxy names `user`
    refused,         ///< a trusted proxy sent no usable user name; `reason` says why
  };
  verdict outcome = verdict::untrusted_peer;
  std::string user{};
  std::string reason{};
};

/// Decides a request's identity from its proxy header alone: from a trusted peer, exactly one
/// `user_header` field holding a valid tenant id names the user; anything else from a trusted
/// peer is refused (a proxy that forwards without authenticating is misconfigured).
inline proxy_identity identify_by_proxy(std::string_view peer, std::span<const header_field> headers,
                                        const trusted_proxy_settings& settings) {
  using verdict = proxy_identity::verdict;
  if (!settings.trusts(peer)) return {};
  const std::vector<std::string_view> users = header_values(headers, settings.user_header);
  if (users.empty()) {
    return {verdict::refused,
            {},
            "the trusted proxy " + std::string(peer) + " sent no " + settings.user_header +
                ": turn on its authentication (auth_basic) for every location"};
  }
  if (users.size() > 1) {
    return {verdict::refused,
            {},
            "the trusted proxy " + std::string(peer) + " sent " + settings.user_header +
                " more than once: let it set the header, replacing the client's"};
  }
  if (!is_valid_id(users.front())) {
    return {verdict::refused,
            {},
            "the trusted proxy " + std::string(peer) + " named the user '" + comfyq::detail::printable(users.front()) +
                "' in " + settings.user_header + ", which is not a valid tenant id"};
  }
  return {verdict::user, std::string(users.front()), {}};
}

}  // namespace comfyq::server
