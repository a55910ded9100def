// Commands round trip through a connection, binary safe, and replies read as what Redis sent.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "comfyq/redis/connection.hpp"
#include "support/expect_error.hpp"
#include "support/expect_invalid.hpp"
#include "support/redis_server.hpp"
#include "support/unique_name.hpp"

using comfyq::redis::connection;
using comfyq::redis::reply;
using comfyq::redis::reply_type;
using comfyq::test::expect_error;
using comfyq::test::expect_invalid;
using comfyq::testing::shared_redis;
using comfyq::testing::unique_queue_name;
using Catch::Matchers::Contains;

TEST_CASE("a value set is the value read back, byte for byte", "[redis]") {
  connection redis(shared_redis().connection_options());
  const std::string key = unique_queue_name("bytes");
  using namespace std::string_literals;
  const std::string value = "nul\0 crlf\r\n bulk $3\r\n high \xff\xfe"s;

  redis.command({"SET", key, value}).expect_ok();
  const reply got = redis.command({"GET", key});
  CHECK(got.type() == reply_type::string);
  CHECK(got.string() == value);
}

TEST_CASE("a missing key reads as nil", "[redis]") {
  connection redis(shared_redis().connection_options());
  const reply got = redis.command({"GET", unique_queue_name("missing")});
  CHECK(got.is_nil());
  CHECK_FALSE(got.string_or_nil().has_value());
}

TEST_CASE("integers, statuses and arrays read as such", "[redis]") {
  connection redis(shared_redis().connection_options());
  const std::string counter = unique_queue_name("counter");
  const std::string list = unique_queue_name("list");

  CHECK(redis.command({"INCRBY", counter, "41"}).integer() == 41);
  CHECK(redis.command({"INCR", counter}).integer() == 42);
  CHECK(redis.command({"PING"}).is_status());
  CHECK(redis.command({"PING"}).string() == "PONG");

  CHECK(redis.command({"RPUSH", list, "a", "", "c"}).integer() == 3);
  const reply items = redis.command({"LRANGE", list, "0", "-1"});
  REQUIRE(items.is_array());
  std::vector<std::string> read;
  for (const comfyq::redis::reply_view item : items.elements()) read.emplace_back(item.string());
  CHECK(read == std::vector<std::string>{"a", "", "c"});
}

TEST_CASE("nested arrays are read element by element", "[redis]") {
  connection redis(shared_redis().connection_options());
  const std::string stream = unique_queue_name("events");
  const std::string id(redis.command({"XADD", stream, "*", "job", "j-1", "state", "queued"}).string());

  // XRANGE: [[id, [field, value, field, value]]]
  const reply entries = redis.command({"XRANGE", stream, "-", "+"});
  REQUIRE(entries.size() == 1);
  CHECK(entries.at(0).at(0).string() == id);
  const comfyq::redis::reply_view fields = entries.at(0).at(1);
  REQUIRE(fields.size() == 4);
  CHECK(fields.at(0).string() == "job");
  CHECK(fields.at(1).string() == "j-1");
  CHECK(fields.at(3).string() == "queued");
}

TEST_CASE("a Redis error reply is a value, and the connection stays usable", "[redis]") {
  connection redis(shared_redis().connection_options());
  const std::string key = unique_queue_name("text");
  redis.command({"SET", key, "not a number"}).expect_ok();

  const reply refused = redis.command({"INCR", key});
  REQUIRE(refused.is_error());
  CHECK(refused.is_error_code("ERR"));
  CHECK_FALSE(refused.is_error_code("WRONGTYPE"));
  CHECK_THAT(std::string(refused.error_message()), Contains("not an integer"));

  CHECK(redis.command({"NO-SUCH-COMMAND"}).is_error());
  CHECK(redis.command({"GET", key}).string() == "not a number");
  CHECK(redis.connected());
}

TEST_CASE("reading a reply as what it is not is store_unavailable saying what came", "[redis]") {
  connection redis(shared_redis().connection_options());
  const std::string key = unique_queue_name("text");
  redis.command({"SET", key, "x"}).expect_ok();

  const auto wrong_type = expect_error<comfyq::store_unavailable>([&] { (void)redis.command({"STRLEN", key}).string(); });
  CHECK_THAT(wrong_type.what(), Contains("[comfyq.store_unavailable] unexpected Redis reply: expected a string, got integer 1"));
  const auto error_read = expect_error<comfyq::store_unavailable>([&] { (void)redis.command({"INCR", key}).integer(); });
  CHECK_THAT(error_read.what(), Contains("expected an integer, got error \"ERR"));
  const auto not_ok = expect_error<comfyq::store_unavailable>([&] { redis.command({"GET", key}).expect_ok(); });
  CHECK_THAT(not_ok.what(), Contains("expected the status OK, got string \"x\""));
  const auto past_end = expect_error<comfyq::store_unavailable>([&] { (void)redis.command({"TIME"}).at(2); });
  CHECK_THAT(past_end.what(), Contains("more than 2 elements, got array of 2"));
}

TEST_CASE("a moved-from reply is nil and the moved-to one owns the answer", "[redis]") {
  connection redis(shared_redis().connection_options());
  reply first = redis.command({"PING"});
  reply second = std::move(first);
  CHECK(first.is_nil());  // the documented moved-from state
  CHECK(second.string() == "PONG");
  second = redis.command({"ECHO", "again"});
  CHECK(second.string() == "again");
}

TEST_CASE("a command without a name is invalid_input naming argv", "[redis]") {
  connection redis(shared_redis().connection_options());
  const std::vector<std::string_view> nothing;
  CHECK(expect_invalid([&] { (void)redis.command(nothing); }).field() == "argv");
}

TEST_CASE("a connection works in the database its options select", "[redis]") {
  comfyq::redis::connection_options in_db_3 = shared_redis().connection_options();
  in_db_3.db = 3;
  connection db3(in_db_3);
  connection db0(shared_redis().connection_options());
  const std::string key = unique_queue_name("db");

  db3.command({"SET", key, "in 3"}).expect_ok();
  CHECK(db3.command({"GET", key}).string() == "in 3");
  CHECK(db0.command({"GET", key}).is_nil());
}
