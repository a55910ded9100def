// One job from POST /prompt to its files, replayed from the recordings: the WebSocket
// sequence (legacy client and feature_flags client), /history/{id}, /api/jobs/{id},
// /view of the output, and the caching trap (an identical resubmission runs nothing and
// re-announces the old file; a changed graph writes the next counter).

#include <catch2/catch.hpp>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;
using contract::check_replay;

TEST_CASE("a SaveImage job for a legacy client runs as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  check_replay("job_saveimage_ws_legacy.jsonl", fixture.standin);
}

TEST_CASE("an identical resubmission is served from the cache, a changed one writes the next file",
          "[comfyui][contract]") {
  contract::standin_fixture fixture;
  // The recording followed job_saveimage_ws_legacy on the same server: its cache and its file.
  check_replay("job_saveimage_ws_legacy.jsonl", fixture.standin);
  check_replay("job_saveimage_resubmit_cached.jsonl", fixture.standin, {.counter = 1});
}

TEST_CASE("a PreviewImage job for a client with feature flags runs as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  check_replay("job_previewimage_ws_featureflags.jsonl", fixture.standin);
}
