#pragma once
// The two socket operations hiredis 0.14 lacks. It writes with write(2), which raises SIGPIPE
// (and by default kills the whole process) when Redis has gone away; comfyq sends with
// send(MSG_NOSIGNAL) instead and lets hiredis only read. And it cannot tell whether an idle
// connection is still open, which decides whether a command can go out without any risk.

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>

#include <poll.h>
#include <sys/socket.h>

namespace comfyq::redis::detail {

/// Sends all `length` bytes on the blocking socket `fd`, without SIGPIPE. Returns what went
/// wrong, or nullopt once everything is sent. A send timeout (SO_SNDTIMEO) is a failure too.
inline std::optional<std::string> send_all(int fd, const char* data, std::size_t length) {
  while (length > 0) {
    const ssize_t sent = ::send(fd, data, length, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return "timed out while sending";
      return std::strerror(errno);
    }
    data += sent;
    length -= static_cast<std::size_t>(sent);
  }
  return std::nullopt;
}

/// Whether the peer of an idle connection has closed it (or reset it). Redis never speaks
/// unasked on a RESP2 connection, so an idle socket that is readable has reached its end.
inline bool idle_connection_closed(int fd) {
  pollfd probe{.fd = fd, .events = POLLIN, .revents = 0};
  int ready = 0;
  do {
    ready = ::poll(&probe, 1, 0);
  } while (ready < 0 && errno == EINTR);
  return ready != 0;
}

}  // namespace comfyq::redis::detail
