// A worker checks its own waits against the queue's ttls before it starts: a heartbeat the
// queue's lease_ttl or worker_ttl leave no room for would lose every job it runs, or show it as
// down. It refuses to start, naming the option and the fix, and changes nothing. On both stores.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "support/expect_invalid.hpp"
#include "worker/worker_fixture.hpp"

namespace {

using namespace comfyq::testing::worker_tests;
namespace clients = comfyq::testing::clients;
using namespace std::chrono_literals;

}  // namespace

TEMPLATE_LIST_TEST_CASE("a worker whose waits the queue's ttls leave no room for refuses to start, naming them", "[worker][ttls]", backends) {
  comfyq::scheduler_config config;
  auto options = quick_options();
  std::string field;
  std::string says;
  SECTION("a heartbeat not below lease_ttl: a running job's lease would expire between two") {
    config.lease_ttl = 3s;
    options.heartbeat_interval = 3s;
    field = "worker.heartbeat_interval";
    says = "below the queue's lease_ttl (3000 ms), or a running job's lease expires between two heartbeats (got 3000 "
           "ms); set it to a third of the smaller of the queue's lease_ttl and worker_ttl (1000 ms)";
  }
  SECTION("a heartbeat not below worker_ttl: a busy worker would show as down between two") {
    config.lease_ttl = 60s;
    config.worker_ttl = 25s;
    options.heartbeat_interval = 30s;
    field = "worker.heartbeat_interval";
    says = "below the queue's worker_ttl (25000 ms), or a busy worker counts as down between two heartbeats (got "
           "30000 ms); set it to a third of the smaller of the queue's lease_ttl and worker_ttl (8333 ms)";
  }
  SECTION("an idle_wait not below worker_ttl: an idle worker would show as down between two waits") {
    config.lease_ttl = 60s;
    config.worker_ttl = 21s;
    options.idle_wait = 21s;
    field = "worker.idle_wait";
    says = "below the queue's worker_ttl (21000 ms), or an idle worker counts as down between two waits for work "
           "(got 21000 ms); set it to a third of worker_ttl (7000 ms) or less";
  }
  worker_fixture<TestType> f(config);
  const std::string id = f.submit(clients::invert_graph("out"));
  auto worker = f.make_worker(options);

  const comfyq::invalid_input error = comfyq::test::expect_invalid([&] { worker.step(); });
  CHECK(error.field() == field);
  CHECK_THAT(error.what(), Catch::Contains(says));
  CHECK(f.queue->find(id)->state == comfyq::job_state::queued);
  CHECK(f.queue->snapshot().workers.empty());
}

TEMPLATE_LIST_TEST_CASE("a worker whose heartbeat fits the queue's ttls runs jobs", "[worker][ttls]", backends) {
  comfyq::scheduler_config config;
  config.lease_ttl = 3s;
  config.worker_ttl = 2s;
  worker_fixture<TestType> f(config);
  auto options = quick_options();
  options.heartbeat_interval = 1999ms;
  options.idle_wait = 1999ms;
  auto worker = f.make_worker(options);
  const std::string id = f.submit(clients::invert_graph("out"));
  CHECK(f.run_until_finished(worker, id).state == comfyq::job_state::succeeded);
}
