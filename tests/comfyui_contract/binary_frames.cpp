// Binary WebSocket frames as recorded: SaveImageWebsocket's previews as type 1 (u32 1,
// u32 2 = PNG, image) for a legacy client and type 4 (u32 4, metadata JSON, image) for a
// client that negotiated supports_preview_metadata, each in its recorded place around the
// "progress" message; GetImageSize's type-3 progress text, which reaches every socket; and
// PreviewAny's text output.

#include <catch2/catch.hpp>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;

TEST_CASE("previews and progress text reach a legacy client as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  contract::check_replay("ws_binary_frames_legacy_client.jsonl", fixture.standin);
}

TEST_CASE("previews carry metadata for a client that negotiated it, as recorded", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  contract::check_replay("ws_binary_frames_featureflags_client.jsonl", fixture.standin);
}
