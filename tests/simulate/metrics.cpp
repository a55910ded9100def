// The simulator's measurements on their own: Jain's index, percentiles, GPU service counted
// pro rata, and the lag behind fair share checked against its definition computed naively.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "comfyq/sim/detail/fairness.hpp"
#include "comfyq/sim/detail/random.hpp"

using comfyq::sim::detail::jain_index;
using comfyq::sim::detail::lag_tracker;
using comfyq::sim::detail::nearest_rank;
using comfyq::sim::detail::service_ledger;

TEST_CASE("Jain's index is 1 for equal shares and 1/n when one tenant gets everything") {
  CHECK(*jain_index({5.0, 5.0, 5.0, 5.0}) == Approx(1.0));
  CHECK(*jain_index({8.0, 0.0, 0.0, 0.0}) == Approx(0.25));
  CHECK(*jain_index({10.0, 1.0}) == Approx(1.21 / 2.02));  // (1 + 0.1)^2 / (2 (1 + 0.01))
  CHECK(*jain_index({0.0, 0.0}) == Approx(1.0));            // nobody got anything: equal
  CHECK_FALSE(jain_index({}).has_value());
}

TEST_CASE("percentiles are nearest-rank: the smallest value with at least p of the values at or below it") {
  std::vector<std::int64_t> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(nearest_rank(ten, 0.50) == 5);
  CHECK(nearest_rank(ten, 0.95) == 10);
  CHECK(nearest_rank(ten, 0.10) == 1);
  CHECK(nearest_rank({42}, 0.95) == 42);
}

TEST_CASE("GPU service counts a running job pro rata") {
  service_ledger ledger(2);
  ledger.start(0, 1'000);
  CHECK(ledger.service(0, 1'000) == 0);
  CHECK(ledger.service(0, 4'000) == 3'000);
  ledger.start(0, 2'000);  // a second worker
  CHECK(ledger.service(0, 4'000) == 5'000);
  ledger.stop(0, 1'000, 5'000);
  CHECK(ledger.service(0, 9'000) == 4'000 + 7'000);
  CHECK(ledger.service(1, 9'000) == 0);
}

namespace {

// lag_i(t) straight from the definition, with S_j(a_i) looked up in a history of every instant.
class naive_lag {
 public:
  explicit naive_lag(std::vector<double> weights) : weights_(std::move(weights)), since_(weights_.size()) {}

  void settle(std::int64_t at, const std::vector<std::uint32_t>& outstanding, const service_ledger& ledger) {
    for (std::size_t i = 0; i < since_.size(); ++i) {
      if (outstanding[i] == 0) since_[i].reset();
      else if (!since_[i]) since_[i] = at;
    }
    std::vector<std::int64_t>& s = history_[at];
    s.clear();
    for (std::size_t j = 0; j < since_.size(); ++j) s.push_back(ledger.service(j, at));
  }

  void observe(std::int64_t at, const service_ledger& ledger) {
    for (std::size_t i = 0; i < since_.size(); ++i) {
      if (!since_[i]) continue;
      const std::vector<std::int64_t>& then = history_.at(*since_[i]);
      double received = 0, weight = 0;
      for (std::size_t j = 0; j < since_.size(); ++j) {
        if (since_[j] && *since_[j] <= *since_[i]) {
          received += static_cast<double>(ledger.service(j, at) - then[j]);
          weight += weights_[j];
        }
      }
      double lag = received * weights_[i] / weight - static_cast<double>(ledger.service(i, at) - then[i]);
      if (lag > peak) peak = lag;
    }
  }

  double peak = 0.0;

 private:
  std::vector<double> weights_;
  std::vector<std::optional<std::int64_t>> since_;
  std::map<std::int64_t, std::vector<std::int64_t>> history_;
};

}  // namespace

TEST_CASE("the lag behind fair share follows its definition on random backlogs") {
  const std::vector<double> weights{1.0, 2.0, 1.0, 0.5, 1.0};
  const std::size_t n = weights.size();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    comfyq::sim::detail::xoshiro256ss random(seed);
    service_ledger ledger(n);
    lag_tracker tracker(weights);
    naive_lag naive(weights);
    std::vector<std::uint32_t> outstanding(n, 0);
    std::vector<std::optional<std::int64_t>> running_since(n);
    for (std::int64_t at = 0; at <= 3'000; at += 10) {
      tracker.observe(at, ledger);
      naive.observe(at, ledger);
      for (std::size_t i = 0; i < n; ++i) {
        std::int64_t roll = random.uniform_int(0, 9);
        if (roll == 0) outstanding[i] = 0;                        // goes idle (or stays)
        if (roll == 1 || roll == 2) ++outstanding[i];             // submits
        if (outstanding[i] == 0 && running_since[i]) {            // nothing left to run
          ledger.stop(i, *running_since[i], at);
          running_since[i].reset();
        } else if (outstanding[i] > 0 && !running_since[i] && roll < 6) {
          ledger.start(i, at);
          running_since[i] = at;
        } else if (running_since[i] && roll == 9) {
          ledger.stop(i, *running_since[i], at);
          running_since[i].reset();
        }
      }
      tracker.settle(at, outstanding, ledger);
      naive.settle(at, outstanding, ledger);
      tracker.observe(at, ledger);
      naive.observe(at, ledger);
      REQUIRE(tracker.largest().lag_ms == Approx(naive.peak).margin(1e-6));
    }
    CHECK(naive.peak > 0.0);
  }
}

TEST_CASE("a tenant that goes idle and comes back within one instant keeps its backlog period") {
  service_ledger ledger(2);
  lag_tracker tracker({1.0, 1.0});
  tracker.settle(0, {1, 1}, ledger);
  tracker.settle(500, {1, 1}, ledger);  // its last job ended and a new one arrived at 500
  CHECK(tracker.backlogged_since(0) == 0);
  tracker.settle(600, {0, 1}, ledger);
  tracker.settle(700, {1, 1}, ledger);
  CHECK(tracker.backlogged_since(0) == 700);
  CHECK(tracker.backlogged_since(1) == 0);
}
