#pragma once
// "host" or "host:port", as the addresses of ComfyUI and of the files server are written.

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace comfyq::comfyui::detail {

struct host_port {
  std::string host{};
  unsigned short port = 0;
};

/// `authority` as a host and a port (`default_port` when it names none); nothing when the host is
/// empty or the port is not 1-65535.
inline std::optional<host_port> parse_host_port(std::string_view authority, unsigned short default_port) {
  host_port parsed{.host = {}, .port = default_port};
  const std::size_t colon = authority.rfind(':');
  parsed.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    parsed.port = static_cast<unsigned short>(value);
  }
  if (parsed.host.empty()) return std::nullopt;
  return parsed;
}

}  // namespace comfyq::comfyui::detail
