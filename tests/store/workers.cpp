// What workers publish about themselves (register_worker, put_object_info) and what the
// snapshot shows of them: the same in every store.
#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/comfyq.hpp"
#include "comfyq/util/sha256.hpp"
#include "support/expect_invalid.hpp"
#include "support/stores.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using comfyq::worker_condition;
using comfyq::worker_state;
using comfyq::test::expect_invalid;
using comfyq::testing::at;

namespace {

const std::string nodes = R"({"KSampler":{"input":{"required":{"seed":["INT",{"default":0}]}}}})";

comfyq::worker_info gpu0(worker_condition condition = worker_condition::ready) {
  return {.id = "gpu0",
          .comfyui = "127.0.0.1:8188",
          .comfyui_version = "0.8.0",
          .gpu = "cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync",
          .condition = condition,
          .object_info = comfyq::util::sha256_hex(nodes)};
}

// The one worker of the snapshot at `now`.
comfyq::worker_snapshot only_worker(auto& q, comfyq::time_point now) {
  std::vector<comfyq::worker_snapshot> workers = q.snapshot(now).workers;
  REQUIRE(workers.size() == 1);
  return workers[0];
}

std::vector<comfyq::event> worker_events(auto& q) {
  std::vector<comfyq::event> out;
  for (comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::worker_changed) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a registered worker shows what it published, idle until it leases and busy while it runs", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.register_worker(gpu0(), at(1));
  comfyq::worker_snapshot w = only_worker(q, at(2));
  CHECK(w.id == "gpu0");
  CHECK(w.state == worker_state::idle);
  CHECK(w.last_seen == at(1));
  CHECK(w.comfyui == "127.0.0.1:8188");
  CHECK(w.comfyui_version == "0.8.0");
  CHECK(w.gpu == "cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync");
  CHECK(w.object_info == comfyq::util::sha256_hex(nodes));
  CHECK(w.job.empty());

  std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(3));
  REQUIRE(q.lease("gpu0", at(4)));
  w = only_worker(q, at(5));
  CHECK(w.state == worker_state::busy);
  CHECK(w.job == id);
  CHECK(w.comfyui == "127.0.0.1:8188");
}

TEMPLATE_LIST_TEST_CASE("a worker that reports draining or comfyui_down shows that state, lease or not", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.register_worker(gpu0(worker_condition::draining), at(1));
  CHECK(only_worker(q, at(2)).state == worker_state::draining);
  q.register_worker(gpu0(worker_condition::comfyui_down), at(3));
  CHECK(only_worker(q, at(4)).state == worker_state::comfyui_down);

  q.register_worker(gpu0(), at(5));
  std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(5));
  REQUIRE(q.lease("gpu0", at(6)));
  q.register_worker(gpu0(worker_condition::draining), at(7));
  comfyq::worker_snapshot w = only_worker(q, at(8));
  CHECK(w.state == worker_state::draining);
  CHECK(w.job == id);
  q.register_worker(gpu0(), at(9));
  CHECK(only_worker(q, at(10)).state == worker_state::busy);
}

TEMPLATE_LIST_TEST_CASE("a worker not heard from within worker_ttl is down, whatever it last reported", "[store][workers]", comfyq::testing::stores) {
  TestType q({.worker_ttl = 30s});
  q.register_worker(gpu0(worker_condition::comfyui_down), at(0));
  CHECK(only_worker(q, at(29.999)).state == worker_state::comfyui_down);
  comfyq::worker_snapshot w = only_worker(q, at(30));
  CHECK(w.state == worker_state::down);
  CHECK(w.comfyui == "127.0.0.1:8188");  // what it said is kept for the dashboard

  q.touch_worker("gpu0", at(40));
  CHECK(only_worker(q, at(41)).state == worker_state::comfyui_down);
}

TEMPLATE_LIST_TEST_CASE("a worker that never registered shows empty registration fields", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.touch_worker("gpu1", at(1));
  comfyq::worker_snapshot w = only_worker(q, at(2));
  CHECK(w.id == "gpu1");
  CHECK(w.state == worker_state::idle);
  CHECK(w.comfyui.empty());
  CHECK(w.comfyui_version.empty());
  CHECK(w.gpu.empty());
  CHECK(w.object_info.empty());
}

TEMPLATE_LIST_TEST_CASE(
    "a changed registration is logged once as worker_changed, and the same one again is only a touch",
    "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.register_worker(gpu0(), at(1));
  q.register_worker(gpu0(), at(2));
  q.register_worker(gpu0(), at(3));
  CHECK(only_worker(q, at(3)).last_seen == at(3));
  comfyq::worker_info upgraded = gpu0();
  upgraded.comfyui_version = "0.8.1";
  q.register_worker(upgraded, at(4));
  q.register_worker(gpu0(worker_condition::draining), at(5));
  q.register_worker(gpu0(worker_condition::draining), at(6));

  std::vector<comfyq::event> events = worker_events(q);
  REQUIRE(events.size() == 3);
  CHECK(events[0].at == at(1));
  CHECK(events[0].worker == "gpu0");
  CHECK(events[0].job.empty());
  CHECK(events[0].tenant.empty());
  CHECK(events[0].data == nlohmann::json{{"comfyui", "127.0.0.1:8188"},
                                         {"comfyui_version", "0.8.0"},
                                         {"gpu", "cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync"},
                                         {"condition", "ready"},
                                         {"object_info", comfyq::util::sha256_hex(nodes)}});
  CHECK(events[1].at == at(4));
  CHECK(events[1].data["comfyui_version"] == "0.8.1");
  CHECK(events[2].at == at(5));
  CHECK(events[2].data["condition"] == "draining");
  CHECK(events[2].data["comfyui_version"] == "0.8.0");
}

TEMPLATE_LIST_TEST_CASE("the first registration of a worker that already leased is logged, even with nothing to say", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.touch_worker("gpu0", at(1));
  q.register_worker({.id = "gpu0"}, at(2));
  q.register_worker({.id = "gpu0"}, at(3));
  std::vector<comfyq::event> events = worker_events(q);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data["condition"] == "ready");
  CHECK(events[0].data["comfyui"] == "");
}

TEMPLATE_LIST_TEST_CASE("an object_info document is kept once under its sha256 and read back whole", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  std::string sha = comfyq::util::sha256_hex(nodes);
  CHECK_FALSE(q.object_info(sha));
  q.put_object_info(sha, nodes);
  q.put_object_info(sha, nodes);  // a second worker with the same nodes
  CHECK(q.object_info(sha) == nodes);
  CHECK_FALSE(q.object_info(comfyq::util::sha256_hex("{}")));
  CHECK_FALSE(q.object_info("not-a-sha"));

  // A real /object_info is a few megabytes, and binary-safe storage keeps every byte.
  std::string big(3 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>(i % 251);
  std::string big_sha = comfyq::util::sha256_hex(big);
  q.put_object_info(big_sha, big);
  CHECK(q.object_info(big_sha) == big);
}

TEMPLATE_LIST_TEST_CASE("an object_info document under a wrong or malformed sha256 is refused and nothing is kept", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  std::string sha = comfyq::util::sha256_hex(nodes);
  std::string other = comfyq::util::sha256_hex("{}");

  comfyq::invalid_input mismatch = expect_invalid([&] { q.put_object_info(other, nodes); });
  CHECK(mismatch.field() == "document");
  CHECK_THAT(mismatch.what(), Catch::Contains(sha) && Catch::Contains("sha256 of its bytes"));

  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {upper, sha.substr(1), sha + "0", std::string()}) {
    INFO("sha256 '" << bad << "'");
    comfyq::invalid_input refused = expect_invalid([&] { q.put_object_info(bad, nodes); });
    CHECK(refused.field() == "sha256");
    CHECK_THAT(refused.what(), Catch::Contains("64 lowercase hex digits"));
  }
  CHECK_FALSE(q.object_info(sha));
  CHECK_FALSE(q.object_info(other));
  CHECK_FALSE(q.object_info(upper));
}

TEMPLATE_LIST_TEST_CASE("a registration with a bad field is refused naming it, and changes nothing", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  auto refused_field = [&](comfyq::worker_info info) {
    return expect_invalid([&] { q.register_worker(info, at(1)); }).field();
  };
  auto with = [](auto change) {
    comfyq::worker_info info = gpu0();
    change(info);
    return info;
  };
  CHECK(refused_field(with([](auto& w) { w.id = "gpu 0"; })) == "worker.id");
  CHECK(refused_field(with([](auto& w) { w.id = ""; })) == "worker.id");
  CHECK(refused_field(with([](auto& w) { w.id = "../gpu0"; })) == "worker.id");
  CHECK(refused_field(with([](auto& w) { w.object_info = "abc"; })) == "worker.object_info");
  CHECK(refused_field(with([](auto& w) { w.object_info = std::string(64, 'A'); })) == "worker.object_info");
  CHECK(refused_field(with([](auto& w) { w.gpu = "cuda:0\nNVIDIA"; })) == "worker.gpu");
  CHECK(refused_field(with([](auto& w) { w.comfyui_version = "0.8.0 \xe2\x84\xa2"; })) == "worker.comfyui_version");
  CHECK(refused_field(with([](auto& w) { w.comfyui = std::string(257, 'h'); })) == "worker.comfyui");
  CHECK(refused_field(with([](auto& w) { w.condition = static_cast<worker_condition>(7); })) == "worker.condition");

  CHECK(q.snapshot(at(2)).workers.empty());
  CHECK(worker_events(q).empty());
}

TEMPLATE_LIST_TEST_CASE("a removed worker no longer shows, and its removal is logged as worker_removed", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.register_worker(gpu0(worker_condition::draining), at(1));
  q.touch_worker("gpu1", at(1));
  CHECK(q.remove_worker("gpu0", at(2)));
  std::vector<comfyq::worker_snapshot> workers = q.snapshot(at(3)).workers;
  REQUIRE(workers.size() == 1);
  CHECK(workers[0].id == "gpu1");

  std::vector<comfyq::event> removals;
  for (comfyq::event& e : q.events()) {
    if (e.type == comfyq::event_type::worker_removed) removals.push_back(std::move(e));
  }
  REQUIRE(removals.size() == 1);
  CHECK(removals[0].worker == "gpu0");
  CHECK(removals[0].at == at(2));
  CHECK(removals[0].job.empty());

  // What it registered went with it: registering again is a first registration.
  q.register_worker(gpu0(worker_condition::draining), at(4));
  workers = q.snapshot(at(5)).workers;
  REQUIRE(workers.size() == 2);
  CHECK(workers[0].id == "gpu0");
  CHECK(workers[0].last_seen == at(4));
  CHECK(worker_events(q).size() == 2);
}

TEMPLATE_LIST_TEST_CASE("a worker that holds a lease is not removed until its run ends", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.register_worker(gpu0(), at(1));
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(1));
  const auto lease = q.lease("gpu0", at(2));
  REQUIRE(lease);
  CHECK_FALSE(q.remove_worker("gpu0", at(3)));
  CHECK(only_worker(q, at(4)).job == id);
  for (const comfyq::event& e : q.events()) CHECK(e.type != comfyq::event_type::worker_removed);

  q.complete(id, lease->token, {}, at(5));
  CHECK(q.remove_worker("gpu0", at(6)));
  CHECK(q.snapshot(at(7)).workers.empty());
}

TEMPLATE_LIST_TEST_CASE("a worker that runs two jobs is kept until both end", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.submit({.tenant = "alice", .workflow = "{}"}, at(1));
  q.submit({.tenant = "bob", .workflow = "{}"}, at(1));
  const auto first = q.lease("gpu0", at(2));
  const auto second = q.lease("gpu0", at(2));
  REQUIRE(first);
  REQUIRE(second);
  q.complete(second->job_id, second->token, {}, at(3));
  CHECK_FALSE(q.remove_worker("gpu0", at(4)));
  q.complete(first->job_id, first->token, {}, at(5));
  CHECK(q.remove_worker("gpu0", at(6)));
}

TEMPLATE_LIST_TEST_CASE("a worker whose lease expired may be removed, and its job is requeued", "[store][workers]", comfyq::testing::stores) {
  TestType q({.lease_ttl = 60s});
  const std::string id = q.submit({.tenant = "alice", .workflow = "{}"}, at(0));
  REQUIRE(q.lease("gpu0", at(0)));
  CHECK_FALSE(q.remove_worker("gpu0", at(59)));
  CHECK(q.remove_worker("gpu0", at(60)));
  CHECK(q.snapshot(at(61)).workers.empty());
  CHECK(q.find(id)->state == comfyq::job_state::queued);
}

TEMPLATE_LIST_TEST_CASE("removing a worker the store does not know changes nothing", "[store][workers]", comfyq::testing::stores) {
  TestType q;
  q.touch_worker("gpu1", at(1));
  CHECK(q.remove_worker("gpu0", at(2)));
  CHECK(q.remove_worker("not a worker id", at(2)));
  CHECK(only_worker(q, at(3)).id == "gpu1");
  for (const comfyq::event& e : q.events()) CHECK(e.type != comfyq::event_type::worker_removed);
}
