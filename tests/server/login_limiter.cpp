// Failed logins per client: a few mistakes are free, a stream of guesses is refused for a while.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/login_limiter.hpp"
#include "support/expect_invalid.hpp"

using namespace std::chrono_literals;
using comfyq::duration;
using comfyq::time_point;
using comfyq::server::client_key;
using comfyq::server::login_limiter;
using comfyq::server::login_limits;
using comfyq::test::expect_invalid;

namespace {
const time_point start{std::chrono::hours(24 * 365 * 50)};
}

TEST_CASE("a client may fail max_failures - 1 times in a window and still try", "[server][login_limiter]") {
  login_limiter limiter({.max_failures = 3, .window = 60s, .lockout = 120s});
  limiter.record_failure("10.0.0.1", start);
  limiter.record_failure("10.0.0.1", start + 1s);
  CHECK(limiter.refused_for("10.0.0.1", start + 2s) == duration::zero());
}

TEST_CASE("the max_failures-th failure in a window refuses the client for the lockout", "[server][login_limiter]") {
  login_limiter limiter({.max_failures = 3, .window = 60s, .lockout = 120s});
  for (auto at : {0s, 10s, 20s}) limiter.record_failure("10.0.0.1", start + at);
  CHECK(limiter.refused_for("10.0.0.1", start + 20s) == 120s);
  CHECK(limiter.refused_for("10.0.0.1", start + 100s) == 40s);
  CHECK(limiter.refused_for("10.0.0.1", start + 140s) == duration::zero());
  // Another client is not affected.
  CHECK(limiter.refused_for("10.0.0.2", start + 20s) == duration::zero());
}

TEST_CASE("failures older than the window do not count", "[server][login_limiter]") {
  login_limiter limiter({.max_failures = 3, .window = 60s, .lockout = 120s});
  limiter.record_failure("10.0.0.1", start);
  limiter.record_failure("10.0.0.1", start + 30s);
  limiter.record_failure("10.0.0.1", start + 61s);  // the first has left the window
  CHECK(limiter.refused_for("10.0.0.1", start + 61s) == duration::zero());
  limiter.record_failure("10.0.0.1", start + 62s);
  CHECK(limiter.refused_for("10.0.0.1", start + 62s) == 120s);
}

TEST_CASE("failures while refused do not lengthen the lockout", "[server][login_limiter]") {
  login_limiter limiter({.max_failures = 2, .window = 60s, .lockout = 60s});
  limiter.record_failure("10.0.0.1", start);
  limiter.record_failure("10.0.0.1", start + 1s);
  limiter.record_failure("10.0.0.1", start + 30s);
  CHECK(limiter.refused_for("10.0.0.1", start + 30s) == 31s);
  // After the lockout the count starts again from nothing.
  limiter.record_failure("10.0.0.1", start + 61s);
  CHECK(limiter.refused_for("10.0.0.1", start + 61s) == duration::zero());
}

TEST_CASE("clients whose failures have expired are forgotten", "[server][login_limiter]") {
  login_limiter limiter({.max_failures = 5, .window = 60s, .lockout = 60s});
  for (int i = 0; i < 1000; ++i)
    limiter.record_failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), start);
  CHECK(limiter.clients_remembered() == 1000);
  for (int i = 0; i < 1000; ++i)
    limiter.record_failure("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), start + 2min);
  CHECK(limiter.clients_remembered() <= 1000 + 64);
}

TEST_CASE("one IPv6 host's /64 counts as one client", "[server][login_limiter]") {
  CHECK(client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::7"));
  CHECK(client_key("2001:db8:1:2::1") == "2001:0db8:0001:0002::/64");
  CHECK(client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1"));
  CHECK(client_key("192.0.2.7") == "192.0.2.7");
  CHECK(client_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(client_key("not an address") == "not an address");
}

TEST_CASE("login limits must be positive", "[server][login_limiter]") {
  CHECK(expect_invalid([] { login_limiter({.max_failures = 0}); }).field() == "max_failures");
  CHECK(expect_invalid([] { login_limiter({.window = 0s}); }).field() == "window");
  CHECK(expect_invalid([] { login_limiter({.lockout = -1s}); }).field() == "lockout");
}
