// Reconnect delays grow from initial_delay to max_delay, jittered into [d/2, d].
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "comfyq/redis/detail/backoff.hpp"

using namespace std::chrono_literals;
using comfyq::redis::detail::backoff;

TEST_CASE("reconnect delays double up to max_delay, each jittered into its upper half", "[redis][backoff]") {
  const comfyq::redis::reconnect_policy policy{.initial_delay = 50ms, .max_delay = 2s, .attempts = 12, .window = 60s};
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    backoff delays(policy, seed);
    std::chrono::milliseconds ceiling = 50ms;
    for (int attempt = 0; attempt < 12; ++attempt) {
      const std::chrono::milliseconds delay = delays.next();
      INFO("seed " << seed << ", attempt " << attempt << ", ceiling " << ceiling.count() << " ms");
      CHECK(delay >= ceiling / 2);
      CHECK(delay <= ceiling);
      ceiling = std::min(ceiling * 2, 2000ms);
    }
  }
}

TEST_CASE("reconnect delays differ between clients", "[redis][backoff]") {
  const comfyq::redis::reconnect_policy policy{};
  const auto series = [&](std::uint32_t seed) {
    backoff delays(policy, seed);
    std::vector<long long> values;
    for (int i = 0; i < 8; ++i) values.push_back(delays.next().count());
    return values;
  };
  CHECK(series(1) != series(2));
  CHECK(series(7) == series(7));
}
