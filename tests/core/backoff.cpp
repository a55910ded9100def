// The waits between attempts to reach something that is down: growing, capped, jittered.
#include <catch2/catch.hpp>

#include <chrono>

#include "comfyq/backoff.hpp"
#include "support/expect_error.hpp"

using namespace std::chrono_literals;
using comfyq::backoff;
using comfyq::duration;

TEST_CASE("backoff doubles up to its cap, with the jitter within half of each step", "[backoff]") {
  backoff waits({.initial = 100ms, .max = 1s, .factor = 2.0});
  CHECK(waits.next(1.0) == 100ms);  // the whole step
  CHECK(waits.next(0.0) == 100ms);  // half of 200 ms
  CHECK(waits.next(0.5) == 300ms);  // three quarters of 400 ms
  CHECK(waits.next(1.0) == 800ms);
  CHECK(waits.next(1.0) == 1s);     // capped
  for (int i = 0; i < 100; ++i) CHECK(waits.next(0.999) <= 1s);
  CHECK(waits.failures() == 64);    // counts stop growing; so do the waits

  waits.reset();
  CHECK(waits.failures() == 0);
  CHECK(waits.next(0.0) == 50ms);
}

TEST_CASE("backoff settings that make no sense name the field", "[backoff]") {
  using comfyq::test::expect_error;
  const auto field = [](comfyq::backoff_policy p) {
    return expect_error<comfyq::invalid_input>([&] { p.validate("worker.backoff"); }).field();
  };
  CHECK(field({.initial = 0ms}) == "worker.backoff.initial");
  CHECK(field({.initial = 2s, .max = 1s}) == "worker.backoff.max");
  CHECK(field({.factor = 0.5}) == "worker.backoff.factor");
  CHECK(expect_error<comfyq::invalid_input>([] { backoff({.initial = -1ms}); }).field() == "backoff.initial");
}
