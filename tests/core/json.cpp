// JSON forms of the model: every type reads back equal to what was written, and bad input is
// an invalid_input naming the field, never a nlohmann exception.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/json.hpp"
#include "support/expect_invalid.hpp"
#include "support/time.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using comfyq::test::expect_invalid;
using comfyq::testing::at;

// Field-by-field equality for the round trips. Internal linkage: these exist for this file only;
// the decomposed CHECK(a == b) finds them by argument-dependent lookup.
namespace comfyq {

static bool operator==(const tenant_config& a, const tenant_config& b) {
  return std::tie(a.id, a.weight, a.max_running, a.max_queued) == std::tie(b.id, b.weight, b.max_running, b.max_queued);
}

static bool operator==(const submit_request& a, const submit_request& b) {
  return std::tie(a.tenant, a.workflow, a.shape, a.priority, a.id) ==
         std::tie(b.tenant, b.workflow, b.shape, b.priority, b.id);
}

static auto fields_of(const job& j) {
  return std::tie(j.id, j.tenant, j.workflow, j.shape, j.priority, j.state, j.seq, j.submitted_at, j.started_at,
                  j.finished_at, j.attempt, j.failures, j.token, j.worker, j.lease_expires_at, j.last_heartbeat,
                  j.charged, j.cancel_requested, j.preempt_requested, j.reason, j.outputs);
}
static bool operator==(const job& a, const job& b) { return fields_of(a) == fields_of(b); }

static bool operator==(const lease& a, const lease& b) {
  return std::tie(a.job_id, a.tenant, a.worker, a.workflow, a.token, a.attempt, a.priority, a.expires_at, a.estimate) ==
         std::tie(b.job_id, b.tenant, b.worker, b.workflow, b.token, b.attempt, b.priority, b.expires_at, b.estimate);
}

static bool operator==(const lease_status& a, const lease_status& b) {
  return std::tie(a.expires_at, a.cancel_requested, a.preempt_requested) ==
         std::tie(b.expires_at, b.cancel_requested, b.preempt_requested);
}

static bool operator==(const event& a, const event& b) {
  return std::tie(a.type, a.at, a.job, a.tenant, a.worker, a.attempt, a.reason, a.data) ==
         std::tie(b.type, b.at, b.job, b.tenant, b.worker, b.attempt, b.reason, b.data);
}

static bool operator==(const tenant_snapshot& a, const tenant_snapshot& b) {
  return a.config == b.config && std::tie(a.paused, a.queued, a.running, a.gpu_time, a.share, a.virtual_clock,
                                              a.queued_priority) ==
                                     std::tie(b.paused, b.queued, b.running, b.gpu_time, b.share, b.virtual_clock,
                                              b.queued_priority);
}

static bool operator==(const worker_snapshot& a, const worker_snapshot& b) {
  return std::tie(a.id, a.state, a.job, a.last_seen, a.comfyui, a.comfyui_version, a.gpu, a.object_info) ==
         std::tie(b.id, b.state, b.job, b.last_seen, b.comfyui, b.comfyui_version, b.gpu, b.object_info);
}

static bool operator==(const queue_snapshot& a, const queue_snapshot& b) {
  return std::tie(a.at, a.policy, a.paused, a.tenants, a.workers, a.queued, a.running, a.succeeded, a.failed,
                  a.cancelled, a.dead, a.gpu_time) == std::tie(b.at, b.policy, b.paused, b.tenants, b.workers, b.queued,
                                                               b.running, b.succeeded, b.failed, b.cancelled, b.dead,
                                                               b.gpu_time);
}

static bool operator==(const queue_position& a, const queue_position& b) {
  return std::tie(a.job, a.position, a.eta) == std::tie(b.job, b.position, b.eta);
}

static bool operator==(const scheduler_config& a, const scheduler_config& b) {
  return a.new_tenant == b.new_tenant &&
         std::tie(a.policy, a.lease_ttl, a.worker_ttl, a.max_attempts, a.history_limit, a.default_estimate,
                  a.estimate_smoothing, a.preemption, a.forecast_reuse) ==
             std::tie(b.policy, b.lease_ttl, b.worker_ttl, b.max_attempts, b.history_limit, b.default_estimate,
                      b.estimate_smoothing, b.preemption, b.forecast_reuse);
}

}  // namespace comfyq

namespace {

// One value of every type, with no field left at its default.
comfyq::tenant_config sample_tenant() { return {.id = "alice", .weight = 2.5, .max_running = 2, .max_queued = 10}; }

std::vector<comfyq::manifest_entry> sample_outputs() {
  return {{.name = "out_00001_.png",
           .size = 734'003,
           .sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
           .media_type = "image/png",
           .node = "9"},
          {.name = "clip_00001_.mp4", .size = 1ull << 40, .sha256 = "00ff", .media_type = "video/mp4", .node = "12"}};
}

comfyq::submit_request sample_request() {
  return {.tenant = "alice",
          .workflow = R"({"3":{"class_type":"KSampler","inputs":{"seed":5}}})",
          .shape = "a1b2c3",
          .priority = true,
          .id = "demo-1"};
}

comfyq::job sample_job() {
  return {.id = "j42",
          .tenant = "alice",
          .workflow = R"({"9":{"class_type":"SaveImage","inputs":{"filename_prefix":"cat"}}})",
          .shape = "a1b2c3",
          .priority = true,
          .state = comfyq::job_state::succeeded,
          .seq = (1ull << 63) + 5,  // beyond double precision: must stay exact
          .submitted_at = at(1),
          .started_at = at(2.5),
          .finished_at = at(47.25),
          .attempt = 2,
          .failures = 1,
          .token = std::numeric_limits<std::uint64_t>::max(),
          .worker = "gpu-1",
          .lease_expires_at = at(62.5),
          .last_heartbeat = at(40),
          .charged = 45'001ms,
          .cancel_requested = true,
          .preempt_requested = true,
          .reason = "lease expired: worker 'gpu-0' stopped heartbeating",
          .outputs = sample_outputs()};
}

comfyq::lease sample_lease() {
  return {.job_id = "j42",
          .tenant = "alice",
          .worker = "gpu-1",
          .workflow = R"({"1":{"class_type":"EmptyImage"}})",
          .token = 77,
          .attempt = 3,
          .priority = true,
          .expires_at = at(90),
          .estimate = 12'345ms};
}

comfyq::lease_status sample_status() {
  return {.expires_at = at(120), .cancel_requested = true, .preempt_requested = true};
}

comfyq::event sample_event() {
  return {.type = comfyq::event_type::progress,
          .at = at(33),
          .job = "j42",
          .tenant = "alice",
          .worker = "gpu-1",
          .attempt = 2,
          .reason = "still going",
          .data = {{"node", "3"}, {"value", 5}, {"max", 20}, {"fraction", 0.25}}};
}

comfyq::queue_snapshot sample_snapshot() {
  return {.at = at(500),
          .policy = comfyq::policy::round_robin,
          .paused = true,
          .tenants = {{.config = sample_tenant(),
                       .paused = true,
                       .queued = 4,
                       .running = 1,
                       .gpu_time = 90'000ms,
                       .share = 0.37,
                       .virtual_clock = 36'000.123456789,
                       .queued_priority = 2},
                      {.config = {.id = "bob"}, .queued = 1, .share = 0.63, .virtual_clock = 1.0 / 3.0}},
          .workers = {{.id = "gpu-1",
                       .state = comfyq::worker_state::busy,
                       .job = "j42",
                       .last_seen = at(499),
                       .comfyui = "127.0.0.1:8188",
                       .comfyui_version = "0.3.10",
                       .gpu = "cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync",
                       .object_info = std::string(64, 'e')},
                      {.id = "gpu-2", .state = comfyq::worker_state::down, .last_seen = at(100)},
                      {.id = "gpu-3", .state = comfyq::worker_state::comfyui_down, .last_seen = at(498)}},
          .queued = 5,
          .running = 1,
          .succeeded = 10,
          .failed = 2,
          .cancelled = 3,
          .dead = 1,
          .gpu_time = 243'000ms};
}

comfyq::queue_position sample_position() { return {.job = "j42", .position = 3, .eta = at(700)}; }

comfyq::scheduler_config sample_config() {
  return {.policy = comfyq::policy::fifo,
          .lease_ttl = 30s,
          .worker_ttl = 45s,
          .max_attempts = 5,
          .history_limit = 123,
          .default_estimate = 90s,
          .estimate_smoothing = 0.5,
          .preemption = true,
          .new_tenant = {.weight = 0.5, .max_running = 1, .max_queued = 3},
          .forecast_reuse = 2500ms};
}

// Written, then read back both from the json value and from its text.
template <class T>
void check_round_trip(const T& value) {
  const json written = value;
  INFO(written.dump());
  CHECK(written.get<T>() == value);
  CHECK(json::parse(written.dump()).get<T>() == value);
}

// Each required field, left out, is named by the error; each other field may be left out.
template <class T>
void check_required_fields(const json& full, const std::vector<std::string>& required) {
  for (const auto& [key, value] : full.items()) {
    json without = full;
    without.erase(key);
    bool is_required = std::find(required.begin(), required.end(), key) != required.end();
    INFO("without " << key);
    if (is_required) {
      CHECK(expect_invalid([&] { (void)without.get<T>(); }).field() == key);
    } else {
      CHECK_NOTHROW(without.get<T>());
    }
  }
}

// The invalid_input thrown when `key` of `full` holds `bad`.
template <class T>
comfyq::invalid_input reading_with(json full, const json::json_pointer& key, json bad) {
  full[key] = std::move(bad);
  return expect_invalid([&] { (void)full.get<T>(); });
}

}  // namespace

TEST_CASE("enums are written as their names and read back from them") {
  using comfyq::event_type, comfyq::job_state, comfyq::policy, comfyq::worker_state;
  for (auto s : {job_state::queued, job_state::running, job_state::succeeded, job_state::failed, job_state::cancelled,
                 job_state::dead}) {
    CHECK(json(s) == std::string(to_string(s)));
    CHECK(json(s).get<job_state>() == s);
  }
  for (auto p : {policy::fifo, policy::round_robin, policy::fair_share}) CHECK(json(p).get<policy>() == p);
  for (auto w : {worker_state::idle, worker_state::busy, worker_state::down, worker_state::draining,
                 worker_state::comfyui_down}) {
    CHECK(json(w).get<worker_state>() == w);
  }
  for (int i = 0; i <= static_cast<int>(event_type::worker_changed); ++i) {
    auto type = static_cast<event_type>(i);
    CHECK(json(type) == std::string(to_string(type)));
    CHECK(json(type).get<event_type>() == type);
  }
  CHECK(json(policy::fair_share) == "fair_share");
  CHECK(json(event_type::preempt_requested) == "preempt_requested");
}

TEST_CASE("an unknown enum name is refused naming the field and listing the valid names") {
  auto state = reading_with<comfyq::job>(json(sample_job()), "/state"_json_pointer, "done");
  CHECK(state.field() == "state");
  CHECK_THAT(state.what(), Catch::Contains("\"done\"") &&
                               Catch::Contains("queued, running, succeeded, failed, cancelled, dead"));

  auto type = reading_with<comfyq::event>(json(sample_event()), "/type"_json_pointer, "exploded");
  CHECK(type.field() == "type");
  CHECK_THAT(type.what(),
             Catch::Contains("submitted, leased, progress") && Catch::Contains("queue_changed, worker_changed"));

  auto policy = reading_with<comfyq::queue_snapshot>(json(sample_snapshot()), "/policy"_json_pointer, "lottery");
  CHECK(policy.field() == "policy");
  CHECK_THAT(policy.what(), Catch::Contains("fifo, round_robin, fair_share"));

  auto worker =
      reading_with<comfyq::queue_snapshot>(json(sample_snapshot()), "/workers/1/state"_json_pointer, "asleep");
  CHECK(worker.field() == "workers.1.state");
  CHECK_THAT(worker.what(), Catch::Contains("idle, busy, down, draining, comfyui_down"));

  CHECK(reading_with<comfyq::job>(json(sample_job()), "/state"_json_pointer, 2).field() == "state");
  CHECK_THAT(expect_invalid([] { (void)json("FIFO").get<comfyq::policy>(); }).what(),
             Catch::Contains("fifo, round_robin, fair_share"));
}

TEST_CASE("every type reads back equal to what was written") {
  SECTION("tenant_config") {
    check_round_trip(sample_tenant());
    check_round_trip(comfyq::tenant_config{});
  }
  SECTION("manifest_entry") {
    for (const auto& entry : sample_outputs()) check_round_trip(entry);
  }
  SECTION("submit_request") {
    check_round_trip(sample_request());
    check_round_trip(comfyq::submit_request{});
  }
  SECTION("job") {
    check_round_trip(sample_job());
    check_round_trip(comfyq::job{});
  }
  SECTION("lease") { check_round_trip(sample_lease()); }
  SECTION("lease_status") { check_round_trip(sample_status()); }
  SECTION("event") {
    check_round_trip(sample_event());
    check_round_trip(comfyq::event{.type = comfyq::event_type::queue_changed, .at = at(1)});
  }
  SECTION("tenant_snapshot and worker_snapshot") {
    for (const auto& tenant : sample_snapshot().tenants) check_round_trip(tenant);
    for (const auto& worker : sample_snapshot().workers) check_round_trip(worker);
  }
  SECTION("queue_snapshot") {
    check_round_trip(sample_snapshot());
    check_round_trip(comfyq::queue_snapshot{});
  }
  SECTION("queue_position") {
    check_round_trip(sample_position());
    check_round_trip(comfyq::queue_position{.job = "j1", .position = 1});
  }
  SECTION("scheduler_config") {
    check_round_trip(sample_config());
    check_round_trip(comfyq::scheduler_config{});
  }
}

TEST_CASE("durations are integer milliseconds in *_ms fields and instants milliseconds since the epoch") {
  json j = sample_job();
  CHECK(j["submitted_at_ms"] == 1'700'000'001'000);
  CHECK(j["started_at_ms"] == 1'700'000'002'500);
  CHECK(j["finished_at_ms"].is_number_integer());
  CHECK(j["charged_ms"] == 45'001);
  CHECK_FALSE(j.contains("submitted_at"));
  CHECK_FALSE(j.contains("charged"));

  json config = sample_config();
  CHECK(config["lease_ttl_ms"] == 30'000);
  CHECK(config["default_estimate_ms"] == 90'000);
  CHECK(config["forecast_reuse_ms"] == 2'500);
  CHECK(json(sample_lease())["estimate_ms"] == 12'345);
  CHECK(json(sample_snapshot())["tenants"][0]["gpu_time_ms"] == 90'000);
}

TEST_CASE("a cap of unlimited is null, and null reads as unlimited") {
  json j = comfyq::tenant_config{.id = "alice"};
  CHECK(j["max_running"].is_null());
  CHECK(j["max_queued"].is_null());
  CHECK(json(sample_tenant())["max_running"] == 2);

  auto read = json{{"id", "bob"}, {"max_running", nullptr}, {"max_queued", 7}}.get<comfyq::tenant_config>();
  CHECK(read.max_running == comfyq::unlimited);
  CHECK(read.max_queued == 7u);
  CHECK(json::object().get<comfyq::tenant_config>().max_queued == comfyq::unlimited);
}

TEST_CASE("an empty eta is left out, and a missing or null eta reads as empty") {
  CHECK_FALSE(json(comfyq::queue_position{.job = "j1", .position = 1}).contains("eta_ms"));
  CHECK(json(sample_position())["eta_ms"] == 1'700'000'700'000);
  CHECK_FALSE(json{{"job", "j1"}, {"position", 2}, {"eta_ms", nullptr}}.get<comfyq::queue_position>().eta);
  CHECK_FALSE(json{{"job", "j1"}, {"position", 2}}.get<comfyq::queue_position>().eta);
}

TEST_CASE("a missing required field is refused naming it, and other fields keep their defaults") {
  check_required_fields<comfyq::job>(sample_job(), {"id", "tenant", "workflow", "shape", "priority", "state", "seq",
                                                    "submitted_at_ms"});
  check_required_fields<comfyq::manifest_entry>(sample_outputs()[0], {"name", "size", "sha256", "media_type", "node"});
  check_required_fields<comfyq::submit_request>(sample_request(), {"workflow"});
  check_required_fields<comfyq::lease>(sample_lease(), {"job_id", "tenant", "worker", "workflow", "token", "attempt",
                                                        "priority", "expires_at_ms", "estimate_ms"});
  check_required_fields<comfyq::lease_status>(sample_status(), {"expires_at_ms", "cancel_requested",
                                                                "preempt_requested"});
  check_required_fields<comfyq::event>(sample_event(), {"type", "at_ms"});
  check_required_fields<comfyq::tenant_snapshot>(sample_snapshot().tenants[0], {"config", "paused", "queued", "running",
                                                                                "gpu_time_ms", "share",
                                                                                "virtual_clock", "queued_priority"});
  check_required_fields<comfyq::worker_snapshot>(sample_snapshot().workers[0], {"id", "state", "job", "last_seen_ms",
                                                                                "comfyui", "comfyui_version", "gpu",
                                                                                "object_info"});
  check_required_fields<comfyq::queue_snapshot>(sample_snapshot(),
                                                {"at_ms", "policy", "paused", "tenants", "workers", "queued", "running",
                                                 "succeeded", "failed", "cancelled", "dead", "gpu_time_ms"});
  check_required_fields<comfyq::queue_position>(sample_position(), {"job", "position"});
  check_required_fields<comfyq::tenant_config>(sample_tenant(), {});
  check_required_fields<comfyq::scheduler_config>(sample_config(), {});

  auto request = json{{"workflow", "{}"}}.get<comfyq::submit_request>();
  CHECK(request == comfyq::submit_request{.workflow = "{}"});
  CHECK(json::object().get<comfyq::scheduler_config>() == comfyq::scheduler_config{});

  json queued = sample_job();
  for (const char* later : {"started_at_ms", "finished_at_ms", "attempt", "token", "worker", "charged_ms", "outputs"}) {
    queued.erase(later);
  }
  auto j = queued.get<comfyq::job>();
  CHECK(j.attempt == 0);
  CHECK(j.worker.empty());
  CHECK(j.charged == 0ms);
  CHECK(j.outputs.empty());
}

TEST_CASE("a value of the wrong type is refused naming the field") {
  const json job = sample_job();
  struct bad_field {
    const char* pointer;
    json value;
    const char* field;
    const char* says;
  };
  for (const auto& [pointer, value, field, says] : std::vector<bad_field>{
           {"/id", 7, "id", "must be a string, got 7"},
           {"/priority", 1, "priority", "must be true or false"},
           {"/seq", "12", "seq", "must be a whole number from 0 to 18446744073709551615, got \"12\""},
           {"/seq", -1, "seq", "whole number"},
           {"/attempt", 4'294'967'296ull, "attempt", "from 0 to 4294967295"},
           {"/attempt", 1.5, "attempt", "whole number"},
           {"/submitted_at_ms", 1.7e12, "submitted_at_ms", "whole number of milliseconds"},
           {"/submitted_at_ms", "2024-05-01T10:00:00Z", "submitted_at_ms", "whole number of milliseconds"},
           {"/charged_ms", std::numeric_limits<std::uint64_t>::max(), "charged_ms", "whole number of milliseconds"},
           {"/outputs", json::object(), "outputs", "must be a JSON array, got an object"},
           {"/outputs/1", "out.png", "outputs.1", "must be a JSON object"},
           {"/outputs/1/size", "big", "outputs.1.size", "whole number"},
           {"/outputs/0/sha256", nullptr, "outputs.0.sha256", "must be a string, got null"},
       }) {
    INFO(pointer);
    auto error = reading_with<comfyq::job>(job, json::json_pointer(pointer), value);
    CHECK(error.field() == field);
    CHECK_THAT(error.what(), Catch::Contains(says));
  }

  const json snapshot = sample_snapshot();
  CHECK(reading_with<comfyq::queue_snapshot>(snapshot, "/tenants/1/config/max_queued"_json_pointer, true).field() ==
        "tenants.1.config.max_queued");
  CHECK(reading_with<comfyq::queue_snapshot>(snapshot, "/tenants/0/config/weight"_json_pointer, "heavy").field() ==
        "tenants.0.config.weight");
  CHECK(reading_with<comfyq::queue_snapshot>(snapshot, "/workers/0/last_seen_ms"_json_pointer, "x").field() ==
        "workers.0.last_seen_ms");
  CHECK(reading_with<comfyq::queue_snapshot>(snapshot, "/queued"_json_pointer, -5).field() == "queued");

  const json config = sample_config();
  CHECK(reading_with<comfyq::scheduler_config>(config, "/lease_ttl_ms"_json_pointer, "60s").field() == "lease_ttl_ms");
  CHECK(reading_with<comfyq::scheduler_config>(config, "/new_tenant/max_running"_json_pointer, -1).field() ==
        "new_tenant.max_running");
  CHECK(reading_with<comfyq::scheduler_config>(config, "/new_tenant"_json_pointer, 3).field() == "new_tenant");
  CHECK(reading_with<comfyq::queue_position>(sample_position(), "/position"_json_pointer, -3).field() == "position");
  CHECK(reading_with<comfyq::queue_position>(sample_position(), "/eta_ms"_json_pointer, "soon").field() == "eta_ms");
  CHECK(reading_with<comfyq::lease_status>(sample_status(), "/expires_at_ms"_json_pointer, json::array()).field() ==
        "expires_at_ms");
}

TEST_CASE("a document that is not an object is refused") {
  for (const json& document : {json::array(), json(nullptr), json("job"), json(3)}) {
    INFO(document.dump());
    auto error = expect_invalid([&] { (void)document.get<comfyq::job>(); });
    CHECK(error.field().empty());
    CHECK_THAT(error.what(), Catch::Contains("must be a JSON object"));
  }
}

TEST_CASE("an error about text that is not UTF-8 is still an invalid_input") {
  json j = sample_job();
  j["state"] = std::string("\xff\xfe done");
  CHECK(expect_invalid([&] { (void)j.get<comfyq::job>(); }).field() == "state");
}

TEST_CASE("whole numbers are accepted where fractional ones are expected") {
  auto tenant = json{{"id", "alice"}, {"weight", 2}}.get<comfyq::tenant_config>();
  CHECK(tenant.weight == 2.0);
}

TEST_CASE("fields a reader does not know are ignored") {
  json j = sample_job();
  j["colour"] = "blue";
  j["nested"] = {{"anything", {1, 2, 3}}};
  j["outputs"][0]["thumbnail"] = "t.png";
  CHECK(j.get<comfyq::job>() == sample_job());

  json request = sample_request();
  request["client_id"] = "abc";
  CHECK(request.get<comfyq::submit_request>() == sample_request());

  json snapshot = sample_snapshot();
  snapshot["tenants"][1]["config"]["note"] = nullptr;
  snapshot["version"] = 2;
  CHECK(snapshot.get<comfyq::queue_snapshot>() == sample_snapshot());
}
