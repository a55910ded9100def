#pragma once
// The steps of the seeded random-operation tests: time moves on by up to 4 s, one of six
// tenants and four workers acts, and `op` (0-99) picks the operation (each test maps ranges
// of it to calls, so that the same seed gives the same run wherever it is replayed).

#include <string>

#include "support/random.hpp"

namespace comfyq::testing {

struct random_step {
  double now = 0;  ///< seconds since the start of the run
  std::string tenant{};
  std::string worker{};
  int op = 0;
};

inline random_step next_step(random& rng, double previous_now) {
  random_step step;
  step.now = previous_now + rng.between(0, 4000) / 1000.0;
  step.tenant = "t" + std::to_string(rng.between(0, 5));
  step.worker = "w" + std::to_string(rng.between(0, 3));
  step.op = rng.between(0, 99);
  return step;
}

}  // namespace comfyq::testing
