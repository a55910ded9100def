// The queue as recorded: heap-array order in GET /queue, priorities (front, explicit and
// float numbers), client-chosen and duplicate prompt_ids, deleting and clearing pending
// jobs, the resulting run order and history, and cooperative interrupts (a running node
// finishes; the job stops when the next one starts). The recordings' blocker job spends
// 13 s in ImageBlur; here ImageBlur is told to take 3 s, long enough for the requests that
// must find it running.

#include <catch2/catch.hpp>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;

namespace {

comfyq::testing::behaviour slow_blur() {
  comfyq::testing::behaviour knobs;
  knobs.node_delays["ImageBlur"] = std::chrono::seconds(3);
  return knobs;
}

}  // namespace

TEST_CASE("priorities, deletes and duplicate ids behave as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture(slow_blur());
  contract::check_replay("queue_priority_delete_clear.jsonl", fixture.standin,
                         {.order = contract::frame_order::by_prompt});
}

TEST_CASE("clearing the queue and interrupting the running job behave as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture(slow_blur());
  contract::check_replay("queue_clear_and_interrupt.jsonl", fixture.standin,
                         {.order = contract::frame_order::by_prompt});
}
