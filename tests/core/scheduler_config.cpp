// The checks of a queue's settings: a setting that makes no sense, alone or with another, is
// refused naming it and saying the fix.
#include <catch2/catch.hpp>

#include <chrono>

#include "comfyq/scheduler_config.hpp"
#include "support/expect_invalid.hpp"

using namespace std::chrono_literals;
using comfyq::test::expect_invalid;

TEST_CASE("a worker_ttl a busy worker's heartbeats cannot keep up with is refused", "[scheduler_config]") {
  // Workers heartbeat every third of lease_ttl: 20 s here.
  const comfyq::invalid_input error = expect_invalid([] { comfyq::validate({.lease_ttl = 60s, .worker_ttl = 15s}); });
  CHECK(error.field() == "worker_ttl");
  CHECK_THAT(error.what(), Catch::Contains("a third of lease_ttl (20000 ms)") && Catch::Contains("got 15000 ms") &&
                               Catch::Contains("set worker_ttl to lease_ttl, or shorten lease_ttl"));
  CHECK(expect_invalid([] { comfyq::validate({.lease_ttl = 60s, .worker_ttl = 20s}); }).field() == "worker_ttl");
  CHECK(expect_invalid([] { comfyq::validate({.lease_ttl = 24h}); }).field() == "worker_ttl");

  CHECK_NOTHROW(comfyq::validate({.lease_ttl = 60s, .worker_ttl = 20'001ms}));
  CHECK_NOTHROW(comfyq::validate({.lease_ttl = 1500ms, .worker_ttl = 60s}));  // a worker_ttl longer than lease_ttl is fine
  CHECK_NOTHROW(comfyq::validate(comfyq::scheduler_config{}));
}
