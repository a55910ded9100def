// comfyq::comfyui::http_client against a stand-in that sends every answer's headers and body in
// separate writes, as ComfyUI's aiohttp often does: every call must work when the two arrive
// in separate reads.

#include <string>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/ws_client.hpp"
#include "comfyui/standin_clients.hpp"
#include "comfyui_standin/png.hpp"

namespace comfyui = comfyq::comfyui;
namespace clients = comfyq::testing::clients;
namespace contract = comfyq::testing::contract;

namespace {

comfyq::testing::behaviour split_writes() {
  comfyq::testing::behaviour knobs;
  knobs.split_writes = true;
  return knobs;
}

}  // namespace

TEST_CASE("every call works when ComfyUI sends an answer's headers and body apart", "[comfyui][http_client][split_writes]") {
  namespace png = comfyq::testing::standin;
  contract::standin_fixture fixture(split_writes());
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::http_client comfyui(options);

  SECTION("system_stats and object_info") {
    CHECK(comfyui.system_stats().at("system").contains("comfyui_version"));
    CHECK(comfyui.object_info().at("SaveImage").at("output_node") == true);
  }

  SECTION("upload_image and view") {
    const std::string image = png::encode_png({24, 16}, {200, 10, 10});
    const comfyq::artifact uploaded = comfyui.upload_image(image, {.name = "split.png", .subfolder = "tenantS"});
    CHECK(uploaded.filename == "split.png");
    CHECK(comfyui.view(uploaded) == image);
    CHECK_FALSE(comfyui.view({.filename = "gone.png", .subfolder = "", .type = "temp", .node = ""}).has_value());
  }

  SECTION("post_prompt, history, and view of the output") {
    CHECK_FALSE(comfyui.history("never-posted").found);
    comfyui::ws_client socket(options, "worker-split");
    REQUIRE(comfyui.post_prompt(clients::invert_graph("tenantS/job-1/out"), "job-1", "worker-split").outcome ==
            comfyui::prompt_outcome::accepted);
    nlohmann::json invalid = clients::invert_graph("tenantS/job-0/out");
    invalid["2"]["inputs"].erase("image");
    CHECK(comfyui.post_prompt(invalid, "job-0", "worker-split").outcome == comfyui::prompt_outcome::rejected);
    comfyui::prompt_follower follower("job-1");
    clients::follow(socket, follower);
    const comfyui::prompt_record record = comfyui.history("job-1");
    REQUIRE(record.found);
    REQUIRE(record.outputs.size() == 1);
    const auto bytes = comfyui.view(record.outputs.front());
    REQUIRE(bytes.has_value());
    CHECK(bytes->starts_with(png::png_signature));
  }

  SECTION("queue, delete_pending and interrupt") {
    CHECK(comfyui.queue().empty());
    comfyq::testing::behaviour knobs = split_writes();
    knobs.node_delays["KSampler"] = std::chrono::seconds(60);  // 15 s a step, unless interrupted
    fixture.standin.set_knobs(knobs);
    comfyui::ws_client socket(options, "worker-split");
    REQUIRE(comfyui.post_prompt(clients::graph_of(contract::sampler_job("", "")), "job-2", "worker-split").outcome ==
            comfyui::prompt_outcome::accepted);
    comfyui::prompt_follower follower("job-2");
    clients::follow_until_node(socket, follower, "3");
    REQUIRE(comfyui.post_prompt(clients::invert_graph("tenantS/job-3/out"), "job-3", "worker-split").outcome ==
            comfyui::prompt_outcome::accepted);
    CHECK(comfyui.queue().size() == 2);

    comfyui.delete_pending("job-3");
    const auto queued = comfyui.queue();
    REQUIRE(queued.size() == 1);
    CHECK(queued.front().prompt_id == "job-2");

    comfyui.interrupt("job-2");
    clients::follow(socket, follower);
    CHECK(follower.end() == comfyui::prompt_end::interrupted);
  }
}
