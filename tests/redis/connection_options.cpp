// Redis URLs and connection options: what parses, what does not, and errors that name the field
// and the fix without ever repeating the password.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "comfyq/redis/connection_options.hpp"
#include "support/expect_invalid.hpp"

using namespace std::chrono_literals;
using comfyq::redis::connection_options;
using comfyq::test::expect_invalid;
using Catch::Matchers::Contains;

TEST_CASE("a redis URL with only a host keeps every other default", "[redis][url]") {
  const connection_options options = connection_options::from_url("redis://cache.internal");
  CHECK(options.host == "cache.internal");
  CHECK(options.port == 6379);
  CHECK(options.db == 0);
  CHECK_FALSE(options.user.has_value());
  CHECK_FALSE(options.password.has_value());
  CHECK(options.connect_timeout == 2s);
  CHECK(options.command_timeout == 5s);
  CHECK(options.reconnect.initial_delay == 50ms);
  CHECK(options.reconnect.max_delay == 2s);
}

TEST_CASE("a redis URL sets user, password, host, port and database", "[redis][url]") {
  const connection_options options = connection_options::from_url("redis://worker:s3cret@10.0.0.5:6380/2");
  CHECK(options.user == "worker");
  CHECK(options.password == "s3cret");
  CHECK(options.host == "10.0.0.5");
  CHECK(options.port == 6380);
  CHECK(options.db == 2);
  CHECK(options.address() == "10.0.0.5:6380");
}

TEST_CASE("a redis URL without a user logs in as the default user", "[redis][url]") {
  const connection_options options = connection_options::from_url("REDIS://:s3cret@localhost/");
  CHECK_FALSE(options.user.has_value());
  CHECK(options.password == "s3cret");
  CHECK(options.host == "localhost");
  CHECK(options.db == 0);
}

TEST_CASE("a redis URL password may be percent-encoded or contain a raw '@'", "[redis][url]") {
  CHECK(connection_options::from_url("redis://:p%40ss%3Aword%2F@host").password == "p@ss:word/");
  CHECK(connection_options::from_url("redis://:p@ss@host").password == "p@ss");
  CHECK(connection_options::from_url("redis://us%65r:pw@host").user == "user");
}

TEST_CASE("a redis URL takes an IPv6 host in brackets", "[redis][url]") {
  const connection_options options = connection_options::from_url("redis://[::1]:7000/1");
  CHECK(options.host == "::1");
  CHECK(options.port == 7000);
  CHECK(options.db == 1);
  CHECK(options.address() == "[::1]:7000");
  CHECK(connection_options::from_url("redis://[::1]").port == 6379);
}

TEST_CASE("a bad redis URL is invalid_input naming redis_url and what is wrong", "[redis][url]") {
  const auto problem = [](const std::string& url) {
    return expect_invalid([&] { (void)connection_options::from_url(url); });
  };
  struct bad_url {
    std::string url;
    std::string says;
  };
  const bad_url cases[] = {
      {"localhost:6379", "must start with redis://"},
      {"http://localhost", "must start with redis://"},
      {"rediss://localhost", "TLS"},
      {"redis://", "host is missing"},
      {"redis://:6379", "host is missing"},
      {"redis://localhost:", "port ''"},
      {"redis://localhost:0", "port '0'"},
      {"redis://localhost:65536", "port '65536'"},
      {"redis://localhost:63x9", "port '63x9'"},
      {"redis://localhost:-1", "port '-1'"},
      {"redis://localhost/x", "database '/x'"},
      {"redis://localhost/-1", "database '/-1'"},
      {"redis://localhost?timeout=1", "query parameters"},
      {"redis://::1:6379", "more than one ':'"},
      {"redis://[::1", "lacks its ']'"},
      {"redis://[::1]6379", "after the IPv6 host"},
      {"redis://worker@localhost", "has no password"},
      {"redis://worker:@localhost", "password is empty"},
      {"redis://:bad%4@localhost", "password has a broken %-escape"},
      {"redis://us%zzer:pw@localhost", "user has a broken %-escape"},
      {"unix://redis.sock", "absolute path"},
      {"unix://", "absolute path"},
      {"unix:///run/redis.sock?db=1", "only the socket's path"},
      {"unix://:pw@/run/redis.sock", "absolute path"},
  };
  for (const bad_url& bad : cases) {
    INFO(bad.url);
    const comfyq::invalid_input error = problem(bad.url);
    CHECK(error.field() == "redis_url");
    CHECK_THAT(error.what(), Contains("[comfyq.invalid_input] redis_url: ") && Contains(bad.says) &&
                                 Contains("expected redis://[user[:password]@]host[:port][/db]"));
  }
}

TEST_CASE("a unix URL reaches Redis through its socket, keeping every other default", "[redis][url]") {
  const connection_options options = connection_options::from_url("unix:///var/run/redis/redis.sock");
  CHECK(options.socket == "/var/run/redis/redis.sock");
  CHECK(options.db == 0);
  CHECK_FALSE(options.password.has_value());
  CHECK(options.command_timeout == 5s);
  CHECK(options.address() == "unix:/var/run/redis/redis.sock");
  CHECK(connection_options::from_url("UNIX:///tmp/r.sock").socket == "/tmp/r.sock");
}

TEST_CASE("a redis URL error never repeats the password", "[redis][url]") {
  const comfyq::invalid_input error =
      expect_invalid([] { (void)connection_options::from_url("redis://:hunter2@localhost:port"); });
  CHECK_THAT(error.what(), !Contains("hunter2"));
}

TEST_CASE("connection options that cannot work are invalid_input naming the field", "[redis][options]") {
  const auto field_of = [](auto change) {
    connection_options options;
    change(options);
    return expect_invalid([&] { options.validate(); }).field();
  };
  CHECK_NOTHROW(connection_options{}.validate());
  CHECK(field_of([](connection_options& o) { o.host.clear(); }) == "host");
  CHECK(field_of([](connection_options& o) { o.port = 0; }) == "port");
  CHECK(field_of([](connection_options& o) { o.port = 70000; }) == "port");
  CHECK(field_of([](connection_options& o) { o.user = "worker"; }) == "password");
  CHECK(field_of([](connection_options& o) { o.user = ""; o.password = "pw"; }) == "user");
  CHECK(field_of([](connection_options& o) { o.password = ""; }) == "password");
  CHECK(field_of([](connection_options& o) { o.db = -1; }) == "db");
  CHECK(field_of([](connection_options& o) { o.connect_timeout = 0ms; }) == "connect_timeout");
  CHECK(field_of([](connection_options& o) { o.command_timeout = -1ms; }) == "command_timeout");
  CHECK(field_of([](connection_options& o) { o.reconnect.initial_delay = 0ms; }) == "reconnect.initial_delay");
  CHECK(field_of([](connection_options& o) { o.reconnect.max_delay = 10ms; }) == "reconnect.max_delay");
  CHECK(field_of([](connection_options& o) { o.reconnect.attempts = 0; }) == "reconnect.attempts");
  CHECK(field_of([](connection_options& o) { o.reconnect.window = 0ms; }) == "reconnect.window");
  CHECK(field_of([](connection_options& o) { o.socket = "/" + std::string(200, 's'); }) == "socket");
  CHECK_NOTHROW(connection_options{.socket = "/run/redis/redis.sock"}.validate());
}
