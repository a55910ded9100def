// A connection through Redis's Unix socket behaves as one over TCP: commands, scripts, the
// failures that name where it tried, and reconnects after Redis restarts.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/store.hpp"
#include "support/expect_error.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::redis::connection;
using comfyq::redis::connection_options;
using comfyq::test::expect_error;
using comfyq::testing::redis_server;
using Catch::Matchers::Contains;

TEST_CASE("a connection through the Unix socket runs commands as one over TCP does", "[redis][unix_socket]") {
  redis_server server({.unix_socket = true});
  connection redis(connection_options::from_url("unix://" + server.socket_path().string()));
  redis.command({"SET", "greeting", "hello"}).expect_ok();

  connection over_tcp(server.connection_options());
  CHECK(over_tcp.command({"GET", "greeting"}).string() == "hello");
  CHECK_THAT(std::string(redis.command({"CLIENT", "INFO"}).string()), Contains("laddr=" + server.socket_path().string()));
}

TEST_CASE("a store works through the Unix socket", "[redis][unix_socket]") {
  redis_server server({.unix_socket = true});
  comfyq::redis::store queue(server.socket_connection_options(), {.queue = comfyq::testing::unique_queue_name()});
  const std::string id = queue.submit({.tenant = "alice", .workflow = "{}"});
  CHECK(queue.find(id).has_value());
}

TEST_CASE("a socket nobody listens on is store_unavailable naming the socket", "[redis][unix_socket][failure]") {
  redis_server server({.unix_socket = true});
  connection_options options = server.socket_connection_options();
  options.reconnect = {.initial_delay = 10ms, .max_delay = 40ms, .attempts = 2, .window = 5s};
  server.kill();

  const auto error = expect_error<comfyq::store_unavailable>([&] { connection redis(options); });
  CHECK_THAT(error.what(), Contains("redis at unix:" + server.socket_path().string()) && Contains("cannot connect") &&
                               Contains("after 2 attempts"));
}

TEST_CASE("after Redis restarts, a connection through the Unix socket reconnects", "[redis][unix_socket][failure]") {
  redis_server server({.unix_socket = true});
  connection_options options = server.socket_connection_options();
  options.reconnect = {.initial_delay = 10ms, .max_delay = 40ms, .attempts = 3, .window = 5s};
  connection redis(options);
  CHECK(redis.command({"PING"}).string() == "PONG");

  server.kill();
  const auto error = expect_error<comfyq::store_unavailable>([&] { (void)redis.command({"PING"}); });
  CHECK_THAT(error.what(), Contains("PING was not sent"));

  server.restart();
  CHECK(redis.command({"PING"}).string() == "PONG");
  CHECK(redis.connected());
}
