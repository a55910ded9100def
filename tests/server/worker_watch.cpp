// The operator hears when no worker can run a job (after a moment's patience, with how to
// attach one) and when one can again, once per change.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/worker_watch.hpp"

using comfyq::queue_snapshot;
using comfyq::worker_snapshot;
using comfyq::worker_state;
using namespace std::chrono_literals;

namespace {

queue_snapshot at(std::chrono::milliseconds t, std::initializer_list<worker_state> states) {
  queue_snapshot s;
  s.at = comfyq::time_point(t);
  int n = 0;
  for (worker_state state : states) s.workers.push_back(worker_snapshot{.id = "w" + std::to_string(++n), .state = state});
  return s;
}

}  // namespace

TEST_CASE("workers are counted by whether they can run a job", "[server][serve]") {
  const auto count = comfyq::server::count_workers(at(0ms, {worker_state::idle, worker_state::busy, worker_state::down,
                                                            worker_state::comfyui_down, worker_state::draining}));
  CHECK(count == comfyq::server::worker_count{.working = 2, .comfyui_down = 1, .other = 2});
}

TEST_CASE("no worker is reported once it lasts the patience, with the hint, a worker back is reported once",
          "[server][serve]") {
  comfyq::server::worker_watch watch("start ComfyUI", 5s);
  CHECK_FALSE(watch.observe(at(0ms, {})));
  CHECK_FALSE(watch.observe(at(4999ms, {worker_state::comfyui_down})));
  const auto none = watch.observe(at(5000ms, {worker_state::comfyui_down}));
  REQUIRE(none);
  CHECK(none->event == "workers.none");
  CHECK(none->level == comfyq::comfyui::log_level::warning);
  CHECK(none->fields.at("comfyui_down") == 1);
  CHECK(none->fields.at("message").get<std::string>().find("start ComfyUI") != std::string::npos);
  CHECK_FALSE(watch.observe(at(60s, {})));

  const auto back = watch.observe(at(61s, {worker_state::idle}));
  REQUIRE(back);
  CHECK(back->event == "workers.connected");
  CHECK(back->fields.at("working") == 1);
  CHECK_FALSE(watch.observe(at(62s, {worker_state::busy})));

  // A worker that restarts within the patience raises no alarm.
  CHECK_FALSE(watch.observe(at(63s, {worker_state::down})));
  CHECK_FALSE(watch.observe(at(65s, {worker_state::idle})));
}

TEST_CASE("a server whose workers are up at once says so, and nothing about their absence", "[server][serve]") {
  comfyq::server::worker_watch watch("start ComfyUI", 5s);
  const auto first = watch.observe(at(0ms, {worker_state::idle}));
  REQUIRE(first);
  CHECK(first->event == "workers.connected");
}
