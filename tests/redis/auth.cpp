// Logging in: a password, an ACL user, and refusals that say which setting to fix.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "comfyq/redis/connection.hpp"
#include "support/expect_error.hpp"
#include "support/expect_invalid.hpp"
#include "support/redis_server.hpp"

using comfyq::redis::connection;
using comfyq::redis::connection_options;
using comfyq::test::expect_error;
using comfyq::test::expect_invalid;
using comfyq::testing::redis_server;
using comfyq::testing::redis_server_options;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {
redis_server& guarded_redis() {
  static redis_server server(redis_server_options{
      .requirepass = "s3cret",
      .user = redis_server_options::acl_user{.name = "worker", .password = "w0rker-pass"},
  });
  return server;
}
}  // namespace

TEST_CASE("a connection logs in with the default user's password", "[redis][auth]") {
  connection redis(guarded_redis().connection_options());
  CHECK(redis.command({"ACL", "WHOAMI"}).string() == "default");
}

TEST_CASE("a connection logs in as an ACL user", "[redis][auth]") {
  connection_options options = connection_options::from_url(
      "redis://worker:w0rker-pass@127.0.0.1:" + std::to_string(guarded_redis().port()));
  connection redis(options);
  CHECK(redis.command({"ACL", "WHOAMI"}).string() == "worker");
}

TEST_CASE("a wrong password is invalid_input naming the password, without repeating it", "[redis][auth]") {
  connection_options options = guarded_redis().connection_options();
  options.password = "guessed-wrong";
  const comfyq::invalid_input error = expect_invalid([&] { connection redis(options); });
  CHECK(error.field() == "password");
  CHECK_THAT(error.what(), Contains("refused AUTH") && Contains("WRONGPASS") && Contains("check the user and password") &&
                               !Contains("guessed-wrong"));
}

TEST_CASE("a wrong ACL user password is invalid_input naming the user it tried", "[redis][auth]") {
  connection_options options = guarded_redis().connection_options();
  options.user = "worker";
  options.password = "s3cret";
  const comfyq::invalid_input error = expect_invalid([&] { connection redis(options); });
  CHECK(error.field() == "password");
  CHECK_THAT(error.what(), Contains("refused AUTH as user 'worker'"));
}

TEST_CASE("no password for a Redis that needs one is invalid_input saying where it goes", "[redis][auth]") {
  connection_options options = guarded_redis().connection_options();
  options.password.reset();
  const comfyq::invalid_input error = expect_invalid([&] { connection redis(options); });
  CHECK(error.field() == "password");
  CHECK_THAT(error.what(), Contains("requires a password") && Contains("redis://[user]:password@host:port"));
}

TEST_CASE("a database the server does not have is invalid_input naming db", "[redis][auth]") {
  connection_options options = guarded_redis().connection_options();
  options.db = 99;
  const comfyq::invalid_input error = expect_invalid([&] { connection redis(options); });
  CHECK(error.field() == "db");
  CHECK_THAT(error.what(), Contains("refused SELECT 99"));
}

TEST_CASE("a Redis that is full is store_unavailable, not a wrong password", "[redis][auth]") {
  redis_server server(redis_server_options{.requirepass = "s3cret"});
  connection admin(server.connection_options());
  admin.command({"CONFIG", "SET", "maxclients", "1"}).expect_ok();

  connection_options options = server.connection_options();
  options.reconnect = {.initial_delay = 10ms, .max_delay = 20ms, .attempts = 2, .window = 5s};
  const auto error = expect_error<comfyq::store_unavailable>([&] { connection redis(options); });
  CHECK_THAT(error.what(), Contains("cannot connect") && Contains("gave up after 2 attempts"));
}
