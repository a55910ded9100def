// How long a queue waits for a sign of life, as every store tells it: what a worker checks its
// heartbeat against before it starts.
#include <catch2/catch.hpp>

#include <chrono>

#include "comfyq/comfyq.hpp"
#include "support/expect_invalid.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::testing::at;

TEMPLATE_LIST_TEST_CASE("a store tells the lease_ttl and worker_ttl it applies", "[store]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 45s, .worker_ttl = 20s});
  const comfyq::queue_ttls ttls = q.ttls();
  CHECK(ttls.lease_ttl == 45s);
  CHECK(ttls.worker_ttl == 20s);

  q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  CHECK(q.lease("w1", at(0))->expires_at == at(0) + ttls.lease_ttl);
  q.touch_worker("w2", at(0));
  CHECK(q.snapshot(at(19.999)).workers.back().state == comfyq::worker_state::idle);
  CHECK(q.snapshot(at(0) + ttls.worker_ttl).workers.back().state == comfyq::worker_state::down);
}

TEMPLATE_LIST_TEST_CASE("a store refuses a worker_ttl that would show a busy worker as down between heartbeats", "[store]", comfyq::testing::stores) {
  const comfyq::invalid_input error =
      comfyq::test::expect_invalid([] { TestType q({.lease_ttl = 60s, .worker_ttl = 15s}); });
  CHECK(error.field() == "worker_ttl");
}
