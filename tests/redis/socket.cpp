// The socket operations comfyq does itself because hiredis 0.14 cannot: sending to a peer that
// is gone fails instead of killing the process with SIGPIPE, and a closed idle connection is seen.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include "comfyq/redis/detail/socket.hpp"

using comfyq::redis::detail::idle_connection_closed;
using comfyq::redis::detail::send_all;

TEST_CASE("sending to a closed peer is a failure, not SIGPIPE", "[redis][socket]") {
  int ends[2] = {-1, -1};
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
  ::close(ends[1]);

  const std::string command = "*1\r\n$4\r\nPING\r\n";
  const std::optional<std::string> problem = send_all(ends[0], command.data(), command.size());
  ::close(ends[0]);
  REQUIRE(problem.has_value());
  CHECK(*problem == "Broken pipe");
}

TEST_CASE("an idle connection reads as closed once its peer closed it", "[redis][socket]") {
  int ends[2] = {-1, -1};
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
  CHECK_FALSE(idle_connection_closed(ends[0]));
  ::close(ends[1]);
  CHECK(idle_connection_closed(ends[0]));
  ::close(ends[0]);
}
