// Libraries of Lua functions called with FCALL, loaded on the first call that finds them missing,
// again after Redis lost them, and side by side with other code's libraries.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "comfyq/redis/function_library.hpp"
#include "support/expect_error.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

using comfyq::redis::connection;
using comfyq::redis::function_library;
using comfyq::redis::library_function;
using comfyq::redis::reply;
using comfyq::test::expect_error;
using comfyq::testing::shared_redis;
using comfyq::testing::unique_queue_name;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {
const function_library echoes{"echoes", R"lua(
  -- KEYS[1], ARGV[1] echoed back, with how many keys and arguments came
  redis.register_function(FUNCTION_PREFIX .. 'echo', function(KEYS, ARGV) return {KEYS[1], ARGV[1], #KEYS, #ARGV} end)
  redis.register_function(FUNCTION_PREFIX .. 'refuse', function(KEYS, ARGV)
    return redis.error_reply('QUOTA tenant ' .. ARGV[1] .. ' has too many queued jobs')
  end)
)lua"};
const library_function echo{echoes, "echo"};
const library_function quota_refusal{echoes, "refuse"};

bool loaded(connection& redis, const function_library& library) {
  return redis.command({"FUNCTION", "LIST", "LIBRARYNAME", library.name()}).size() == 1;
}
}  // namespace

TEST_CASE("a library is named after its stem and code, and so are its functions", "[redis][function]") {
  const function_library other{"echoes", "-- other code"};
  CHECK(echoes.name().starts_with("echoes_"));
  CHECK(echoes.name().size() == std::string("echoes_").size() + 12);
  CHECK(other.name() != echoes.name());
  CHECK(echo.registered_name() == echoes.name() + "_echo");
  CHECK(echo.name() == "echo");
  CHECK(echoes.source().starts_with("#!lua name=" + echoes.name() + "\n"));
}

TEST_CASE("a function gets its keys and arguments apart, binary safe", "[redis][function]") {
  connection redis(shared_redis().connection_options());
  const std::string key = unique_queue_name();
  const std::string argument("a\0b", 3);
  const std::vector<std::string_view> keys{key};
  const std::vector<std::string_view> args{argument, "second"};

  const reply answer = redis.fcall(echo, keys, args);
  REQUIRE(answer.size() == 4);
  CHECK(answer.at(0).string() == key);
  CHECK(answer.at(1).string() == argument);
  CHECK(answer.at(2).integer() == 1);
  CHECK(answer.at(3).integer() == 2);
}

TEST_CASE("a function still runs after FUNCTION FLUSH removed its library", "[redis][function]") {
  comfyq::testing::redis_server server;
  connection redis(server.connection_options());
  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(0).string() == "k");
  REQUIRE(loaded(redis, echoes));

  redis.command({"FUNCTION", "FLUSH"}).expect_ok();
  REQUIRE_FALSE(loaded(redis, echoes));

  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(0).string() == "k");
  CHECK(loaded(redis, echoes));
}

TEST_CASE("a function still runs after Redis restarted without its data", "[redis][function]") {
  comfyq::testing::redis_server server;
  connection redis(server.connection_options());
  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(2).integer() == 1);

  server.kill();
  server.restart();
  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(2).integer() == 1);
  CHECK(loaded(redis, echoes));
}

TEST_CASE("libraries of other code live beside each other, each called by its own functions", "[redis][function]") {
  const function_library newer{"echoes", R"lua(
    redis.register_function(FUNCTION_PREFIX .. 'echo', function(KEYS, ARGV) return 'newer' end)
  )lua"};
  const library_function newer_echo{newer, "echo"};
  comfyq::testing::redis_server server;
  connection redis(server.connection_options());

  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(0).string() == "k");
  CHECK(redis.fcall(newer_echo, {"k"}, {"a"}).string() == "newer");
  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(0).string() == "k");
  CHECK(loaded(redis, echoes));
  CHECK(loaded(redis, newer));
}

TEST_CASE("a function its library lacks answers Redis's error after one load, which finds the library there",
          "[redis][function]") {
  const library_function missing{echoes, "missing"};
  connection redis(shared_redis().connection_options());
  CHECK(redis.fcall(echo, {"k"}, {"a"}).at(0).string() == "k");

  const reply refused = redis.fcall(missing, {}, {});
  REQUIRE(refused.is_error());
  CHECK(refused.error_message() == "ERR Function not found");
}

TEST_CASE("a function's error reply comes back as an error reply for its caller to map", "[redis][function]") {
  connection redis(shared_redis().connection_options());
  const reply refused = redis.fcall(quota_refusal, {}, {"alice"});
  REQUIRE(refused.is_error());
  CHECK(refused.is_error_code("QUOTA"));
  CHECK(refused.error_message() == "QUOTA tenant alice has too many queued jobs");
}

TEST_CASE("a library that does not compile comes back as Redis's error reply, and nothing is loaded",
          "[redis][function]") {
  static const function_library broken{"broken", "return {"};
  static const library_function anything{broken, "anything"};
  connection redis(shared_redis().connection_options());
  const reply refused = redis.fcall(anything, {}, {});
  REQUIRE(refused.is_error());
  CHECK_THAT(std::string(refused.error_message()), Contains("Error compiling function"));
  CHECK_FALSE(loaded(redis, broken));
}

TEST_CASE("a function call that cannot reach Redis is store_unavailable naming the function", "[redis][function]") {
  comfyq::testing::redis_server server;
  comfyq::redis::connection_options options = server.connection_options();
  options.reconnect = {.initial_delay = 10ms, .max_delay = 20ms, .attempts = 2, .window = 5s};
  connection redis(options);
  server.kill();

  const auto error = expect_error<comfyq::store_unavailable>([&] { (void)redis.fcall(echo, {"k"}, {"a"}); });
  CHECK_THAT(error.what(), Contains("FCALL of function echo was not sent"));
}
