// Lua scripts run with EVALSHA, and keep working when Redis lost its script cache.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/script.hpp"
#include "support/expect_error.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

using comfyq::redis::connection;
using comfyq::redis::reply;
using comfyq::redis::script;
using comfyq::test::expect_error;
using comfyq::testing::shared_redis;
using comfyq::testing::unique_queue_name;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {
const script echo_counts{"echo_counts", R"lua(
  -- KEYS[1], ARGV[1] echoed back, with how many keys and arguments came
  return {KEYS[1], ARGV[1], #KEYS, #ARGV}
)lua"};

const script refuse{"refuse", R"lua(
  return redis.error_reply("QUOTA tenant " .. ARGV[1] .. " has too many queued jobs")
)lua"};

bool cached(connection& redis, const script& lua) {
  return redis.command({"SCRIPT", "EXISTS", lua.sha1()}).at(0).integer() == 1;
}
}  // namespace

TEST_CASE("a script's digest is the one Redis gives it", "[redis][script]") {
  connection redis(shared_redis().connection_options());
  CHECK(redis.command({"SCRIPT", "LOAD", echo_counts.source()}).string() == echo_counts.sha1());
}

TEST_CASE("a script gets its keys and arguments apart, binary safe", "[redis][script]") {
  connection redis(shared_redis().connection_options());
  const std::string key = unique_queue_name();
  const std::string argument("a\0b", 3);
  const std::vector<std::string_view> keys{key};
  const std::vector<std::string_view> args{argument, "second"};

  const reply answer = redis.eval(echo_counts, keys, args);
  REQUIRE(answer.size() == 4);
  CHECK(answer.at(0).string() == key);
  CHECK(answer.at(1).string() == argument);
  CHECK(answer.at(2).integer() == 1);
  CHECK(answer.at(3).integer() == 2);
}

TEST_CASE("a script still runs after SCRIPT FLUSH emptied the cache", "[redis][script]") {
  connection redis(shared_redis().connection_options());
  CHECK(redis.eval(echo_counts, {"k"}, {"a"}).at(0).string() == "k");
  REQUIRE(cached(redis, echo_counts));

  redis.command({"SCRIPT", "FLUSH"}).expect_ok();
  REQUIRE_FALSE(cached(redis, echo_counts));

  CHECK(redis.eval(echo_counts, {"k"}, {"a"}).at(0).string() == "k");
  CHECK(cached(redis, echo_counts));
}

TEST_CASE("a script still runs after Redis restarted without its cache", "[redis][script]") {
  comfyq::testing::redis_server server;
  connection redis(server.connection_options());
  CHECK(redis.eval(echo_counts, {"k"}, {"a"}).at(2).integer() == 1);

  server.kill();
  server.restart();
  CHECK(redis.eval(echo_counts, {"k"}, {"a"}).at(2).integer() == 1);
  CHECK(cached(redis, echo_counts));
}

TEST_CASE("a script's error reply comes back as an error reply for its caller to map", "[redis][script]") {
  connection redis(shared_redis().connection_options());
  const reply refused = redis.eval(refuse, {}, {"alice"});
  REQUIRE(refused.is_error());
  CHECK(refused.is_error_code("QUOTA"));
  CHECK(refused.error_message() == "QUOTA tenant alice has too many queued jobs");
}

TEST_CASE("a script that does not compile comes back as Redis's error reply", "[redis][script]") {
  static const script broken{"broken", "return {"};
  connection redis(shared_redis().connection_options());
  const reply refused = redis.eval(broken, {}, {});
  REQUIRE(refused.is_error());
  CHECK(refused.error_message().starts_with("ERR Error compiling script"));
}

TEST_CASE("a script that cannot reach Redis is store_unavailable naming the script", "[redis][script]") {
  comfyq::testing::redis_server server;
  comfyq::redis::connection_options options = server.connection_options();
  options.reconnect = {.initial_delay = 10ms, .max_delay = 20ms, .attempts = 2, .window = 5s};
  connection redis(options);
  server.kill();

  const auto error = expect_error<comfyq::store_unavailable>([&] { (void)redis.eval(echo_counts, {"k"}, {"a"}); });
  CHECK_THAT(error.what(), Contains("EVALSHA of script echo_counts was not sent"));
}
