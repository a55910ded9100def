// A redis-server of the program's own: it answers once started, keeps every acknowledged write
// across a stop or a crash of its own, clears what an earlier start left on its socket, keeps a
// second program out of its folder, and says what to install or read when it cannot start.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/private_server.hpp"
#include "support/expect_error.hpp"
#include "support/redis_server.hpp"
#include "support/scratch_folder.hpp"

using namespace std::chrono_literals;
using comfyq::redis::connection;
using comfyq::redis::private_server;
using comfyq::test::expect_error;
using Catch::Matchers::Contains;

namespace {

std::string contents(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A socket file with nobody listening on it, as a redis-server killed with SIGKILL leaves behind.
void leave_stale_socket(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path.string();
  REQUIRE(text.size() < sizeof address.sun_path);
  text.copy(address.sun_path, text.size());
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("a private redis-server answers on its socket, with every write fsynced to its AOF", "[redis][private_server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path dir = scratch.path() / "redis";
  private_server redis({.dir = dir});
  CHECK(redis.running());
  CHECK(redis.connection_options().socket == (dir / "redis.sock").string());

  connection client(redis.connection_options());
  CHECK(client.command({"PING"}).string() == "PONG");
  CHECK(client.command({"CONFIG", "GET", "appendfsync"}).at(1).string() == "always");
  CHECK(client.command({"CONFIG", "GET", "appendonly"}).at(1).string() == "yes");
  CHECK(client.command({"CONFIG", "GET", "port"}).at(1).string() == "0");
  CHECK(std::filesystem::is_directory(dir / "appendonlydir"));
  CHECK((std::filesystem::status(dir).permissions() & std::filesystem::perms::all) == std::filesystem::perms::owner_all);

  redis.stop();
  CHECK_FALSE(redis.running());
  CHECK_FALSE(private_server::accepts_connections(dir / "redis.sock"));
}

TEST_CASE("what a private redis-server acknowledged is there after a stop, and after it is killed",
          "[redis][private_server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path dir = scratch.path() / "redis";
  {
    private_server redis({.dir = dir});
    connection(redis.connection_options()).command({"SET", "stopped", "kept"}).expect_ok();
  }
  {
    private_server redis({.dir = dir});
    connection client(redis.connection_options());
    CHECK(client.command({"GET", "stopped"}).string() == "kept");
    client.command({"SET", "killed", "kept too"}).expect_ok();
    ::kill(redis.pid(), SIGKILL);  // no shutdown, no final flush
    while (redis.running()) std::this_thread::sleep_for(10ms);
  }
  private_server redis({.dir = dir});
  connection client(redis.connection_options());
  CHECK(client.command({"GET", "stopped"}).string() == "kept");
  CHECK(client.command({"GET", "killed"}).string() == "kept too");
}

TEST_CASE("a private redis-server starts over a stale socket file", "[redis][private_server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path dir = scratch.path() / "redis";
  std::filesystem::create_directories(dir);
  leave_stale_socket(dir / "redis.sock");
  REQUIRE(std::filesystem::exists(dir / "redis.sock"));
  REQUIRE_FALSE(private_server::accepts_connections(dir / "redis.sock"));

  private_server redis({.dir = dir});
  CHECK(connection(redis.connection_options()).command({"PING"}).string() == "PONG");
}

TEST_CASE("a redis-server an earlier start left on the socket is shut down before a new one starts",
          "[redis][private_server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path dir = scratch.path() / "redis";
  std::filesystem::create_directories(dir);
  comfyq::testing::redis_server leftover({.extra_config = {"unixsocket " + (dir / "redis.sock").string()}});
  connection(leftover.connection_options()).command({"SET", "from", "the leftover"}).expect_ok();

  private_server redis({.dir = dir});
  connection client(redis.connection_options());
  CHECK(client.command({"GET", "from"}).is_nil());  // another process: the new one
  CHECK(client.command({"CONFIG", "GET", "appendfsync"}).at(1).string() == "always");
  const auto left = expect_error<comfyq::store_unavailable>([&] {
    comfyq::redis::connection_options options = leftover.connection_options();
    options.reconnect.attempts = 1;
    connection gone(options);
  });
  CHECK_THAT(left.what(), Contains("cannot connect"));
}

TEST_CASE("two programs cannot share a private redis-server's folder", "[redis][private_server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path dir = scratch.path() / "redis";
  private_server first({.dir = dir});

  const auto error = expect_error<comfyq::store_unavailable>([&] { private_server second({.dir = dir}); });
  CHECK_THAT(error.what(), Contains("another program uses this folder") && Contains((dir / "redis.lock").string()));
  CHECK(connection(first.connection_options()).command({"PING"}).string() == "PONG");
}

TEST_CASE("a private redis-server that cannot start says what to install or which log to read",
          "[redis][private_server]") {
  const comfyq::testing::scratch_folder scratch;
  const std::filesystem::path dir = scratch.path() / "redis";

  const auto missing = expect_error<comfyq::store_unavailable>(
      [&] { private_server redis({.dir = dir, .executable = scratch.path() / "no-such-redis-server"}); });
  CHECK_THAT(missing.what(), Contains("no-such-redis-server is not an executable redis-server") &&
                                 Contains("apt-get install redis-server"));

  // A program that exits at once stands for a redis-server that refuses its configuration.
  const std::filesystem::path failing = scratch.path() / "failing-redis-server";
  std::ofstream(failing) << "#!/bin/sh\necho 'FATAL CONFIG FILE ERROR' >&2\nexit 1\n";
  std::filesystem::permissions(failing, std::filesystem::perms::owner_all);
  const auto exited =
      expect_error<comfyq::store_unavailable>([&] { private_server redis({.dir = dir, .executable = failing}); });
  CHECK_THAT(exited.what(), Contains("exited at start with status 1") && Contains((dir / "redis.log").string()) &&
                                Contains("FATAL CONFIG FILE ERROR"));
  CHECK_THAT(contents(dir / "redis.log"), Contains("FATAL CONFIG FILE ERROR"));
}

TEST_CASE("a private redis-server's folder must give a short enough socket path", "[redis][private_server]") {
  const auto error = expect_error<comfyq::invalid_input>(
      [] { private_server redis({.dir = "/tmp/" + std::string(110, 'd')}); });
  CHECK(error.field() == "dir");
  CHECK_THAT(error.what(), Contains("too long for a Unix socket"));
}
