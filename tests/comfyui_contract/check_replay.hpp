#pragma once
// The assertion every transcript test makes: replaying the recording against the stand-in
// shows no difference (each difference fails the test on a line of its own).

#include <catch2/catch.hpp>

#include "comfyui_contract/recordings.hpp"
#include "comfyui_contract/replay.hpp"

namespace comfyq::testing::contract {

inline void check_replay(const char* transcript, comfyui_standin& standin, replay_options options = {}) {
  for (const auto& difference : replay(load_transcript(transcript), standin, std::move(options))) {
    FAIL_CHECK(transcript << ": " << difference);
  }
}

}  // namespace comfyq::testing::contract
