// Who hears what, as recorded: three sockets and three jobs (with a client_id, without
// one, with one that has no socket), two sockets with the same clientId (the newer takes
// over), and a client that reconnects mid-job (status, then executing without prompt_id,
// and nothing it missed). ComfyUI's leaks (progress of a job without client_id reaches
// every socket) are reproduced: the stand-in imitates ComfyUI, not comfyq's server.

#include <catch2/catch.hpp>

#include <fstream>

#include "comfyui_contract/check_replay.hpp"
#include "comfyui_contract/standin_fixture.hpp"

namespace contract = comfyq::testing::contract;
using contract::check_replay;

TEST_CASE("messages reach the sockets they reached in ComfyUI", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  // The recording server had saved vis/a_00001_.png in an earlier run.
  std::filesystem::create_directories(fixture.standin.folders().output + "/vis");
  std::ofstream(fixture.standin.folders().output + "/vis/a_00001_.png") << "earlier";
  check_replay("ws_visibility_multi_client.jsonl", fixture.standin);
}

TEST_CASE("a second socket with the same clientId takes the messages over", "[comfyui][contract]") {
  contract::standin_fixture fixture;
  check_replay("ws_same_clientid_twice.jsonl", fixture.standin);
}

TEST_CASE("a client reconnecting mid-job hears the current node and what follows", "[comfyui][contract]") {
  comfyq::testing::behaviour knobs;
  knobs.node_delays["ImageBlur"] = std::chrono::seconds(3);  // the job must still run when it reconnects
  contract::standin_fixture fixture(knobs);
  check_replay("ws_reconnect_midjob.jsonl", fixture.standin);
}
