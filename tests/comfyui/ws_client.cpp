// comfyq::comfyui::ws_client against the ComfyUI stand-in: the greeting, reads that time out,
// previews with and without feature flags, frames above the limit, and sockets that drop, crash
// or are closed.

#include <chrono>
#include <string>
#include <thread>
#include <variant>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/ws_client.hpp"
#include "comfyui/standin_clients.hpp"
#include "comfyui_standin/png.hpp"
#include "support/expect_error.hpp"

namespace comfyui = comfyq::comfyui;
namespace clients = comfyq::testing::clients;
namespace contract = comfyq::testing::contract;
using comfyq::test::expect_error;

namespace {

bool is_type(const comfyui::message& m, comfyui::message_type type) { return m.type == type; }

/// Reads until the socket fails (at most 30 s, else returns and the caller's expect_error fails).
void read_until_dropped(comfyui::ws_client& socket) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) socket.read(std::chrono::milliseconds(200));
}

}  // namespace

TEST_CASE("the socket is greeted with status, and a read with nothing to come returns nothing and reads on",
          "[comfyui][ws_client]") {
  contract::standin_fixture fixture;
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::ws_client socket(options, "worker-g");

  const auto greeting = socket.read(std::chrono::seconds(10));
  REQUIRE(greeting.has_value());
  const auto* status = std::get_if<comfyui::message>(&*greeting);
  REQUIRE(status != nullptr);
  CHECK(status->type == comfyui::message_type::status);
  CHECK(status->data.at("sid") == "worker-g");

  CHECK_FALSE(socket.read(std::chrono::milliseconds(100)).has_value());
  CHECK(socket.open());

  comfyui::http_client comfyui(options);
  REQUIRE(comfyui.post_prompt(clients::invert_graph("tenantG/job-1/out"), "job-1", "worker-g").outcome ==
          comfyui::prompt_outcome::accepted);
  const auto frames = clients::read_until(
      socket, [](const comfyui::message& m) { return is_type(m, comfyui::message_type::execution_start); });
  CHECK(std::get<comfyui::message>(frames.back()).prompt_id == "job-1");
}

TEST_CASE("previews name their prompt with feature flags (type 4), and nothing without (type 1)",
          "[comfyui][ws_client]") {
  comfyq::testing::behaviour knobs;
  knobs.sampler_previews = true;
  contract::standin_fixture fixture(knobs);
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::http_client comfyui(options);
  const nlohmann::json graph = clients::graph_of(contract::sampler_job("", ""));

  SECTION("with feature flags") {
    comfyui::ws_client socket(options, "worker-f", {.preview_metadata = true});
    const auto flags = clients::read_until(
        socket, [](const comfyui::message& m) { return is_type(m, comfyui::message_type::feature_flags); });
    CHECK(std::get<comfyui::message>(flags.back()).data.at("supports_preview_metadata") == true);

    REQUIRE(comfyui.post_prompt(graph, "job-f", "worker-f").outcome == comfyui::prompt_outcome::accepted);
    comfyui::prompt_follower follower("job-f");
    const auto frames = clients::follow(socket, follower);
    CHECK(follower.end() == comfyui::prompt_end::succeeded);
    const auto previews = clients::binary_frames(frames);
    CHECK(previews.size() == 4);  // one per sampler step
    for (const comfyui::binary_frame& preview : previews) {
      CHECK(preview.type == comfyui::binary_type::preview_image_with_metadata);
      CHECK(preview.prompt_id == "job-f");
      CHECK(preview.node == "3");
      CHECK(preview.media_type == "image/png");
      CHECK(preview.payload.starts_with(comfyq::testing::standin::png_signature));
    }
  }
  SECTION("without") {
    comfyui::ws_client socket(options, "worker-p");
    REQUIRE(comfyui.post_prompt(graph, "job-p", "worker-p").outcome == comfyui::prompt_outcome::accepted);
    comfyui::prompt_follower follower("job-p");
    const auto frames = clients::follow(socket, follower);
    CHECK(follower.end() == comfyui::prompt_end::succeeded);
    const auto previews = clients::binary_frames(frames);
    CHECK(previews.size() == 4);
    for (const comfyui::binary_frame& preview : previews) {
      CHECK(preview.type == comfyui::binary_type::preview_image);
      CHECK(preview.prompt_id.empty());
      CHECK(preview.payload.starts_with(comfyq::testing::standin::png_signature));
    }
  }
}

TEST_CASE("a socket dropped mid-prompt is unavailable, now and later, and the prompt's outcome is in history",
          "[comfyui][ws_client]") {
  comfyq::testing::behaviour knobs;
  knobs.drop_socket_at_node = "2";
  contract::standin_fixture fixture(knobs);
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::http_client comfyui(options);
  comfyui::ws_client socket(options, "worker-d");
  REQUIRE(comfyui.post_prompt(clients::invert_graph("tenantD/job-d/out"), "job-d", "worker-d").outcome ==
          comfyui::prompt_outcome::accepted);

  const auto dropped = expect_error<comfyq::comfyui_unavailable>([&] { read_until_dropped(socket); });
  CHECK_THAT(dropped.what(), Catch::Contains("127.0.0.1:" + std::to_string(options.port)) &&
                                 Catch::Contains("client 'worker-d'") && Catch::Contains("/history"));
  CHECK_FALSE(socket.open());
  expect_error<comfyq::comfyui_unavailable>([&] { socket.read(std::chrono::milliseconds(10)); });

  comfyui::ws_client again(options, "worker-d");
  CHECK(again.open());
  // The prompt ran on without a socket; the worker learns its end from /history.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  comfyui::prompt_record record = comfyui.history("job-d");
  while (!record.found && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    record = comfyui.history("job-d");
  }
  REQUIRE(record.found);
  CHECK(record.end == comfyui::prompt_end::succeeded);
}

TEST_CASE("a frame above max_frame_bytes closes the socket, naming the option, and frames within it are read",
          "[comfyui][ws_client]") {
  contract::standin_fixture fixture;
  comfyui::client_options options = clients::options_for(fixture.standin.port());
  options.max_frame_bytes = 16;  // the status greeting is larger
  comfyui::ws_client socket(options, "worker-m");

  const auto error = expect_error<comfyq::comfyui_unavailable>([&] { read_until_dropped(socket); });
  CHECK_THAT(error.what(), Catch::Contains("above comfyui.max_frame_bytes (16 bytes)") &&
                               Catch::Contains("Raise max_frame_bytes"));
  CHECK_FALSE(socket.open());
  CHECK(expect_error<comfyq::comfyui_unavailable>([&] { socket.read(std::chrono::milliseconds(10)); }).what() ==
        std::string(error.what()));

  options.max_frame_bytes = 4096;
  comfyui::ws_client roomy(options, "worker-m");
  CHECK(roomy.read(std::chrono::seconds(10)).has_value());
}

TEST_CASE("a crashed ComfyUI drops the socket and refuses new ones until it restarts", "[comfyui][ws_client]") {
  contract::standin_fixture fixture;
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::ws_client socket(options, "worker-c");
  REQUIRE(socket.read(std::chrono::seconds(10)).has_value());  // the greeting: connected for sure

  fixture.standin.crash();
  expect_error<comfyq::comfyui_unavailable>([&] { read_until_dropped(socket); });
  const auto refused = expect_error<comfyq::comfyui_unavailable>([&] { comfyui::ws_client(options, "worker-c"); });
  CHECK_THAT(refused.what(), Catch::Contains("127.0.0.1:" + std::to_string(options.port)) &&
                                 Catch::Contains("cannot connect the WebSocket /ws?clientId=worker-c"));
  socket.close();  // never throws, also for a socket that is gone

  fixture.standin.restart();
  comfyui::ws_client back(options, "worker-c");
  const auto greeting = back.read(std::chrono::seconds(10));
  REQUIRE(greeting.has_value());
  CHECK(std::get<comfyui::message>(*greeting).type == comfyui::message_type::status);
}

TEST_CASE("a closed socket is closed for good, and reading it is the caller's mistake", "[comfyui][ws_client]") {
  contract::standin_fixture fixture;
  comfyui::ws_client socket(clients::options_for(fixture.standin.port()), "worker-x");
  REQUIRE(socket.read(std::chrono::seconds(10)).has_value());  // the greeting
  CHECK_FALSE(socket.read(std::chrono::milliseconds(50)).has_value());  // leaves a read waiting
  socket.close();
  CHECK_FALSE(socket.open());
  socket.close();
  CHECK(expect_error<comfyq::invalid_input>([&] { socket.read(std::chrono::milliseconds(10)); }).field() == "ws_client");
}

TEST_CASE("a client id is needed to get a prompt's frames", "[comfyui][ws_client]") {
  contract::standin_fixture fixture;
  CHECK(expect_error<comfyq::invalid_input>([&] {
          comfyui::ws_client(clients::options_for(fixture.standin.port()), "");
        }).field() == "client_id");
}
