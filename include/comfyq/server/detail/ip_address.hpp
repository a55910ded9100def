#pragma once
// IP addresses compared by value, not by spelling: "::1" and "0:0:0:0:0:0:0:1" are one address,
// and so are "127.0.0.1" and "::ffff:127.0.0.1" (how a dual-stack socket reports an IPv4 peer).

#include <arpa/inet.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace comfyq::server::detail {

/// An address as 16 bytes, IPv4 written as IPv4-mapped IPv6.
using ip_address = std::array<unsigned char, 16>;

/// `text` as an address, or nullopt if it is not an IPv4 or IPv6 address.
inline std::optional<ip_address> parse_ip_address(std::string_view text) {
  const std::string terminated(text);
  ip_address address{};
  if (::inet_pton(AF_INET6, terminated.c_str(), address.data()) == 1) return address;
  unsigned char v4[4];
  if (::inet_pton(AF_INET, terminated.c_str(), v4) != 1) return std::nullopt;
  address[10] = 0xff;
  address[11] = 0xff;
  for (int i = 0; i < 4; ++i) address[12 + i] = v4[i];
  return address;
}

/// True for an IPv4 address (or its IPv4-mapped IPv6 spelling).
inline bool is_ipv4(const ip_address& address) {
  for (int i = 0; i < 10; ++i) {
    if (address[i] != 0) return false;
  }
  return address[10] == 0xff && address[11] == 0xff;
}

}  // namespace comfyq::server::detail
