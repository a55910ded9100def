// When Redis is down, restarts or is slow: failures are store_unavailable within bounded time,
// say whether the command may have run, are never resent, and the next call reconnects.
#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>

#include "comfyq/redis/connection.hpp"
#include "support/expect_error.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

using namespace std::chrono_literals;
using comfyq::redis::connection;
using comfyq::redis::connection_options;
using comfyq::test::expect_error;
using comfyq::testing::redis_server;
using comfyq::testing::unique_queue_name;
using Catch::Matchers::Contains;

namespace {
// Gives up quickly, so that tests about a Redis that is down do not wait for the defaults.
connection_options quick_to_give_up(const redis_server& server) {
  connection_options options = server.connection_options();
  options.reconnect = {.initial_delay = 10ms, .max_delay = 40ms, .attempts = 3, .window = 5s};
  return options;
}

// Blocks until the server has a client waiting in a blocking command.
void wait_for_blocked_client(const redis_server& server) {
  connection observer(server.connection_options());
  while (observer.command({"INFO", "clients"}).string().find("blocked_clients:1") == std::string_view::npos) {
    std::this_thread::sleep_for(5ms);
  }
}
}  // namespace

TEST_CASE("connecting to a Redis that is down is store_unavailable saying where and what to check", "[redis][failure]") {
  redis_server server;
  const connection_options options = quick_to_give_up(server);
  server.kill();

  const auto error = expect_error<comfyq::store_unavailable>([&] { connection redis(options); });
  CHECK_THAT(error.what(), Contains("[comfyq.store_unavailable] redis at 127.0.0.1:" + std::to_string(server.port())) &&
                               Contains("cannot connect (Connection refused)") && Contains("after 3 attempts") &&
                               Contains("Is redis-server running there? Check the Redis URL (--redis)."));
}

TEST_CASE("a command while Redis is down is store_unavailable and did not run, and after a restart the next one works",
          "[redis][failure]") {
  redis_server server;
  connection redis(quick_to_give_up(server));
  server.kill();

  const auto error = expect_error<comfyq::store_unavailable>([&] { (void)redis.command({"PING"}); });
  CHECK_THAT(error.what(), Contains("cannot connect") && Contains("PING was not sent"));
  CHECK_FALSE(redis.connected());

  server.restart();
  CHECK(redis.command({"PING"}).string() == "PONG");
  CHECK(redis.connected());
}

TEST_CASE("after Redis restarts, an idle connection's next command just works", "[redis][failure]") {
  redis_server server;
  connection redis(quick_to_give_up(server));
  CHECK(redis.command({"PING"}).string() == "PONG");

  server.kill();
  server.restart();
  CHECK(redis.command({"PING"}).string() == "PONG");
}

TEST_CASE("a connection Redis closed while idle reconnects before sending", "[redis][failure]") {
  redis_server server;
  connection redis(server.connection_options());
  connection admin(server.connection_options());
  const long long first_id = redis.command({"CLIENT", "ID"}).integer();

  CHECK(admin.command({"CLIENT", "KILL", "ID", std::to_string(first_id)}).integer() == 1);
  CHECK(redis.command({"CLIENT", "ID"}).integer() != first_id);
}

TEST_CASE(
    "Redis dying during a command is store_unavailable that may or may not have run, and the next call reconnects",
    "[redis][failure]") {
  redis_server server;
  connection redis(quick_to_give_up(server));
  const std::string queue = unique_queue_name();

  std::optional<std::string> failure;
  std::thread blocked([&] {
    try {
      (void)redis.command_with_timeout({"BLPOP", queue, "30"}, 30s);
    } catch (const comfyq::store_unavailable& e) {
      failure = e.what();
    }
  });
  wait_for_blocked_client(server);
  server.kill();
  blocked.join();

  REQUIRE(failure.has_value());
  CHECK_THAT(*failure, Contains("BLPOP got no reply") && Contains("it may or may not have run, and it is not resent") &&
                           Contains("the next call reconnects"));
  CHECK_FALSE(redis.connected());

  server.restart();
  CHECK(redis.command({"PING"}).string() == "PONG");
}

TEST_CASE("a command that outlasts command_timeout is store_unavailable, and the connection recovers",
          "[redis][failure]") {
  const redis_server& server = comfyq::testing::shared_redis();
  connection_options options = server.connection_options();
  options.command_timeout = 200ms;
  connection redis(options);
  const std::string queue = unique_queue_name();

  const auto error = expect_error<comfyq::store_unavailable>([&] { (void)redis.command({"BLPOP", queue, "5"}); });
  CHECK_THAT(error.what(), Contains("BLPOP got no reply within 200 ms") && Contains("may or may not have run") &&
                               Contains("raise command_timeout"));
  CHECK_FALSE(redis.connected());

  // The late BLPOP reply must not answer this command: it goes out on a fresh socket.
  CHECK(redis.command({"ECHO", "fresh"}).string() == "fresh");
}

TEST_CASE("a blocking command waits its block time on top of command_timeout", "[redis][failure]") {
  const redis_server& server = comfyq::testing::shared_redis();
  connection_options options = server.connection_options();
  options.command_timeout = 200ms;
  connection redis(options);
  const std::string queue = unique_queue_name();

  CHECK(redis.command_with_timeout({"BLPOP", queue, "1"}, 1s).is_nil());
  CHECK(redis.connected());

  redis.command({"RPUSH", queue, "job-1"});
  const comfyq::redis::reply popped = redis.command_with_timeout({"BLPOP", queue, "1"}, 1s);
  CHECK(popped.at(1).string() == "job-1");
  CHECK(redis.command({"PING"}).string() == "PONG");
}
