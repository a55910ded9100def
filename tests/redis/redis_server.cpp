// The test Redis itself: private, restartable on the same port, and its AOF survives a kill.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "comfyq/redis/connection.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

using comfyq::redis::connection;
using comfyq::testing::redis_server;
using comfyq::testing::redis_server_options;

TEST_CASE("a test redis-server restarts on its port and replays its AOF after a kill", "[redis][redis_server]") {
  redis_server server(redis_server_options{.appendonly = true, .appendfsync = redis_server_options::fsync::always});
  const int port = server.port();
  {
    connection redis(server.connection_options());
    redis.command({"SET", "kept", "across the crash"}).expect_ok();
  }
  server.kill();
  CHECK_FALSE(server.running());
  server.restart();
  CHECK(server.running());
  CHECK(server.port() == port);

  connection redis(server.connection_options());
  CHECK(redis.command({"GET", "kept"}).string() == "across the crash");
}

TEST_CASE("a test redis-server saves nothing without AOF and leaves no directory behind", "[redis][redis_server]") {
  std::filesystem::path dir;
  {
    redis_server server;
    dir = server.dir();
    connection(server.connection_options()).command({"SET", "gone", "after restart"}).expect_ok();
    server.stop();
    server.restart();
    CHECK(connection(server.connection_options()).command({"GET", "gone"}).is_nil());
    CHECK(std::filesystem::exists(dir));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("unique queue names differ on every call", "[redis][redis_server]") {
  CHECK(comfyq::testing::unique_queue_name() != comfyq::testing::unique_queue_name());
  CHECK(comfyq::testing::unique_queue_name("events").starts_with("events-"));
}
