// A seed is a run: the same seed gives the same numbers, another seed other numbers, and
// nonsense in a scenario is refused before anything runs.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "comfyq/sim/simulate.hpp"
#include "support/expect_invalid.hpp"

using namespace std::chrono_literals;

TEST_CASE("the same seed gives the same result") {
  for (comfyq::policy p : {comfyq::policy::fifo, comfyq::policy::round_robin, comfyq::policy::fair_share}) {
    comfyq::sim::scenario s{.workers = 3, .policy = p, .preemption = true, .seed = 7};
    comfyq::sim::result first = comfyq::sim::simulate(s);
    comfyq::sim::simulate({.seed = 8});  // nothing carries over from one run to the next
    CHECK(comfyq::sim::simulate(s) == first);
  }
}

TEST_CASE("a different seed gives a different workshop") {
  comfyq::sim::result one = comfyq::sim::simulate({.seed = 1});
  comfyq::sim::result two = comfyq::sim::simulate({.seed = 2});
  CHECK(one.jobs_submitted != two.jobs_submitted);
  CHECK(one.wait != two.wait);
  CHECK(one.fairness != two.fairness);
}

TEST_CASE("every policy sees the same participants arriving at the same moments") {
  // Each person draws from its own stream, so what one policy does cannot shift another person's draws.
  comfyq::sim::result fifo = comfyq::sim::simulate({.policy = comfyq::policy::fifo, .hours = 0.25});
  comfyq::sim::result fair = comfyq::sim::simulate({.policy = comfyq::policy::fair_share, .hours = 0.25});
  CHECK(fifo.fairness.window_start_s == fair.fairness.window_start_s);
  CHECK(fifo.demos.submitted == fair.demos.submitted);
}

TEST_CASE("the progress sink hears about the run as it goes") {
  int calls = 0;
  double last = 0;
  comfyq::sim::simulate({.hours = 1}, [&](double done) {
    ++calls;
    CHECK(done > last);
    CHECK(done <= 1.0);
    last = done;
  });
  CHECK(calls >= 10);
  CHECK(calls <= 101);  // at most once per percent, then the end
  CHECK(last == 1.0);
}

TEST_CASE("a scenario that makes no sense is refused naming the field") {
  using comfyq::sim::simulate;
  CHECK(comfyq::test::expect_invalid([] { simulate({.users = 0}); }).field() == "users");
  CHECK(comfyq::test::expect_invalid([] { simulate({.workers = 0}); }).field() == "workers");
  CHECK(comfyq::test::expect_invalid([] { simulate({.hours = 0}); }).field() == "hours");
  CHECK(comfyq::test::expect_invalid([] { simulate({.hours = -1}); }).field() == "hours");
  CHECK(comfyq::test::expect_invalid([] { simulate({.outstanding = 0}); }).field() == "outstanding");
  CHECK(comfyq::test::expect_invalid([] { simulate({.profiles = {}}); }).field() == "profiles");
  CHECK(comfyq::test::expect_invalid([] { simulate({.profiles = {{"a", 10s, 10s}, {"b", 20s, 10s}}}); }).field() ==
        "profiles[1].longest");
  CHECK(comfyq::test::expect_invalid([] { simulate({.profiles = {{"", 10s, 10s}}}); }).field() == "profiles[0].name");
  CHECK(comfyq::test::expect_invalid([] { simulate({.max_think = -1s}); }).field() == "max_think");
  CHECK(comfyq::test::expect_invalid([] { simulate({.demo_shortest = 0s}); }).field() == "demo_shortest");
}
