// comfyq::comfyui::http_client against the ComfyUI stand-in: a job from POST /prompt to its
// file, rejections and partial accepts, uploads used by LoadImage, interrupts, the discovery
// routes, answers above the limits, and a ComfyUI that is down, does not answer, breaks off, or
// is not ComfyUI.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/http_client.hpp"
#include "comfyq/comfyui/ws_client.hpp"
#include "comfyui/impostor.hpp"
#include "comfyui/standin_clients.hpp"
#include "comfyui_standin/png.hpp"
#include "support/expect_error.hpp"

namespace comfyui = comfyq::comfyui;
namespace clients = comfyq::testing::clients;
namespace contract = comfyq::testing::contract;
using comfyq::test::expect_error;

TEST_CASE("a job posted under our ids runs to success, and its file comes from history and view",
          "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::http_client comfyui(options);
  comfyui::ws_client socket(options, "worker-a");

  const comfyui::prompt_answer answer = comfyui.post_prompt(clients::invert_graph("tenantA/job-1/out"), "job-1", "worker-a");
  REQUIRE(answer.outcome == comfyui::prompt_outcome::accepted);
  CHECK(answer.reason.empty());

  comfyui::prompt_follower follower("job-1");
  clients::follow(socket, follower);
  REQUIRE(follower.end() == comfyui::prompt_end::succeeded);

  const comfyui::prompt_record record = comfyui.history("job-1");
  REQUIRE(record.found);
  CHECK(record.end == comfyui::prompt_end::succeeded);
  REQUIRE(record.outputs.size() == 1);
  const comfyq::artifact& file = record.outputs.front();
  CHECK(file.node == "3");
  CHECK(file.subfolder == "tenantA/job-1");
  CHECK(file.type == "output");
  const auto bytes = comfyui.view(file);
  REQUIRE(bytes.has_value());
  CHECK(bytes->starts_with(comfyq::testing::standin::png_signature));
}

TEST_CASE("a prompt ComfyUI does not know has no record yet", "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  comfyui::http_client comfyui(clients::options_for(fixture.standin.port()));
  CHECK_FALSE(comfyui.history("never-posted").found);
}

TEST_CASE("a graph that fails validation is rejected, naming the node and the fix", "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  comfyui::http_client comfyui(clients::options_for(fixture.standin.port()));
  nlohmann::json graph = clients::invert_graph("tenantA/job-2/out");
  graph["2"]["inputs"].erase("image");

  const comfyui::prompt_answer answer = comfyui.post_prompt(graph, "job-2", "worker-a");
  CHECK(answer.outcome == comfyui::prompt_outcome::rejected);
  CHECK_THAT(answer.reason, Catch::Contains("node 2 (ImageInvert)") && Catch::Contains("image"));
  CHECK(answer.details.at("error").at("type") == "prompt_outputs_failed_validation");
  CHECK_FALSE(comfyui.history("job-2").found);
}

TEST_CASE("a partial accept, which would drop an output, is a rejection too", "[comfyui][http_client]") {
  comfyq::testing::behaviour knobs;
  knobs.invalid_node = "2";
  contract::standin_fixture fixture(knobs);
  comfyui::http_client comfyui(clients::options_for(fixture.standin.port()));
  nlohmann::json graph = clients::invert_graph("tenantA/job-3/inverted");
  graph["4"] = {{"class_type", "SaveImage"}, {"inputs", {{"images", {"1", 0}}, {"filename_prefix", "tenantA/job-3/plain"}}}};

  const comfyui::prompt_answer answer = comfyui.post_prompt(graph, "job-3", "worker-a");
  CHECK(answer.outcome == comfyui::prompt_outcome::rejected);
  CHECK_THAT(answer.reason, Catch::Contains("dropped output nodes") && Catch::Contains("node 2 (ImageInvert)"));
  const nlohmann::json& node_errors = answer.details.at("node_errors");
  CHECK(node_errors.size() == 1);
  CHECK(node_errors.at("2").at("dependent_outputs") == nlohmann::json::array({"3"}));
}

TEST_CASE("an uploaded image is stored as ComfyUI names it, and a LoadImage job reads it", "[comfyui][http_client]") {
  namespace png = comfyq::testing::standin;
  contract::standin_fixture fixture;
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::http_client comfyui(options);
  const std::string image = png::encode_png({24, 16}, {200, 10, 10});

  const comfyq::artifact uploaded = comfyui.upload_image(image, {.name = "in put.png", .subfolder = "tenantE/job-4"});
  CHECK(uploaded == comfyq::artifact{.filename = "in put.png", .subfolder = "tenantE/job-4", .type = "input", .node = ""});
  CHECK(comfyui.view(uploaded) == image);

  SECTION("other bytes under the same name are kept beside it, unless told to overwrite") {
    const std::string other = png::encode_png({8, 8}, {0, 0, 0});
    CHECK(comfyui.upload_image(other, {.name = "in put.png", .subfolder = "tenantE/job-4"}).filename == "in put (1).png");
    CHECK(comfyui.upload_image(other, {.name = "in put.png", .subfolder = "tenantE/job-4", .overwrite = true}).filename ==
          "in put.png");
    CHECK(comfyui.view(uploaded) == other);
  }

  SECTION("a LoadImage job reads the upload") {
    comfyui::ws_client socket(options, "worker-e");
    const nlohmann::json graph = {
        {"1", {{"class_type", "LoadImage"}, {"inputs", {{"image", comfyui::load_image_name(uploaded)}}}}},
        {"2", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"1", 0}}, {"filename_prefix", "tenantE/job-4/out"}}}}}};
    REQUIRE(comfyui.post_prompt(graph, "job-4", "worker-e").outcome == comfyui::prompt_outcome::accepted);
    comfyui::prompt_follower follower("job-4");
    clients::follow(socket, follower);
    REQUIRE(follower.end() == comfyui::prompt_end::succeeded);
    const comfyui::prompt_record record = comfyui.history("job-4");
    REQUIRE(record.outputs.size() == 1);
    const auto saved = comfyui.view(record.outputs.front());
    REQUIRE(saved.has_value());
    const auto size = png::png_size(*saved);
    REQUIRE(size.has_value());
    CHECK(size->width == 24);
    CHECK(size->height == 16);
  }
}

TEST_CASE("an upload or a view ComfyUI refuses names the field to fix", "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  comfyui::http_client comfyui(clients::options_for(fixture.standin.port()));
  CHECK(expect_error<comfyq::invalid_input>([&] { comfyui.upload_image("x", {.name = "x.png", .subfolder = "../.."}); })
            .field() == "upload.subfolder");
  CHECK(expect_error<comfyq::invalid_input>([&] { comfyui.upload_image("x", {.name = ""}); }).field() == "upload.name");
  CHECK(expect_error<comfyq::invalid_input>([&] { comfyui.upload_image("x", {.name = "x.png", .type = "models"}); })
            .field() == "upload.type");
  CHECK(expect_error<comfyq::invalid_input>([&] {
          comfyui.view({.filename = "../secret.png", .subfolder = "", .type = "output", .node = ""});
        }).field() == "artifact.filename");
  CHECK(expect_error<comfyq::invalid_input>([&] {
          comfyui.view({.filename = "a.png", .subfolder = "../../etc", .type = "output", .node = ""});
        }).field() == "artifact.subfolder");
  CHECK_FALSE(comfyui.view({.filename = "gone.png", .subfolder = "", .type = "temp", .node = ""}).has_value());
}

TEST_CASE("an interrupt stops our running prompt, and history records it", "[comfyui][http_client]") {
  comfyq::testing::behaviour knobs;
  knobs.node_delays["KSampler"] = std::chrono::seconds(60);  // 15 s a step, unless interrupted
  contract::standin_fixture fixture(knobs);
  const auto options = clients::options_for(fixture.standin.port());
  comfyui::http_client comfyui(options);
  comfyui::ws_client socket(options, "worker-s");
  REQUIRE(comfyui.post_prompt(clients::graph_of(contract::sampler_job("", "")), "job-5", "worker-s").outcome ==
          comfyui::prompt_outcome::accepted);

  comfyui::prompt_follower follower("job-5");
  clients::follow_until_node(socket, follower, "3");
  comfyui.interrupt("job-5");
  clients::follow(socket, follower);
  CHECK(follower.end() == comfyui::prompt_end::interrupted);
  CHECK(follower.error() == "interrupted at node 3");
  const comfyui::prompt_record record = comfyui.history("job-5");
  CHECK(record.end == comfyui::prompt_end::interrupted);
  CHECK(record.outputs.empty());
}

TEST_CASE("system_stats and object_info describe the ComfyUI", "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  comfyui::http_client comfyui(clients::options_for(fixture.standin.port()));
  const nlohmann::json stats = comfyui.system_stats();
  CHECK(stats.at("system").contains("comfyui_version"));
  CHECK(stats.at("devices").is_array());
  const nlohmann::json nodes = comfyui.object_info();
  CHECK(nodes.at("SaveImage").at("output_node") == true);
  CHECK(nodes.contains("LoadImage"));
}

TEST_CASE("a ComfyUI that is down is unavailable, named in the message, until it is back", "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  const auto port = fixture.standin.port();
  comfyui::http_client comfyui(clients::options_for(port));
  fixture.standin.crash();

  const auto refused = expect_error<comfyq::comfyui_unavailable>([&] { comfyui.system_stats(); });
  CHECK(refused.code() == comfyq::errc::comfyui_unavailable);
  CHECK_THAT(refused.what(), Catch::Contains("127.0.0.1:" + std::to_string(port)) &&
                                 Catch::Contains("GET /system_stats was not sent") &&
                                 Catch::Contains("Is ComfyUI running"));
  CHECK_THAT(expect_error<comfyq::comfyui_unavailable>([&] {
               comfyui.post_prompt(clients::invert_graph("x/out"), "job-6", "worker-a");
             }).what(),
             Catch::Contains("POST /prompt was not sent"));

  fixture.standin.restart();
  CHECK(comfyui.post_prompt(clients::invert_graph("x/out"), "job-6", "worker-a").outcome ==
        comfyui::prompt_outcome::accepted);
}

TEST_CASE("a server that does not answer in time is unavailable, and one that is not ComfyUI is a protocol error",
          "[comfyui][http_client]") {
  using clients::impostor;
  SECTION("silent") {
    impostor silent("");
    comfyui::client_options options = clients::options_for(silent.port());
    options.request_timeout = std::chrono::milliseconds(200);
    const auto error = expect_error<comfyq::comfyui_unavailable>(
        [&] { comfyui::http_client(options).post_prompt(clients::invert_graph("x/out"), "job-7", "worker-a"); });
    CHECK_THAT(error.what(), Catch::Contains("no answer within 200 ms") &&
                                 Catch::Contains("ComfyUI may or may not have carried it out"));
  }
  SECTION("not HTTP") {
    impostor redis("-ERR unknown command\r\n");
    const auto error = expect_error<comfyq::comfyui_protocol_error>(
        [&] { comfyui::http_client(clients::options_for(redis.port())).system_stats(); });
    CHECK(error.field() == "http");
    CHECK_THAT(error.what(), Catch::Contains("not HTTP (bad version: its first line is no HTTP status line)") &&
                                 Catch::Contains("something other than ComfyUI"));
  }
  SECTION("HTTP that does not parse") {
    impostor broken("HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n{}");
    const auto error = expect_error<comfyq::comfyui_protocol_error>(
        [&] { comfyui::http_client(clients::options_for(broken.port())).system_stats(); });
    CHECK(error.field() == "http");
    CHECK_THAT(error.what(), Catch::Contains("an HTTP answer that does not parse (bad Content-Length: its "
                                             "Content-Length does not parse"));
    CHECK_THAT(error.what(), !Catch::Contains("not HTTP"));
  }
  SECTION("an answer that breaks off") {
    impostor dying("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"system\":", impostor::then::close);
    const auto error = expect_error<comfyq::comfyui_unavailable>(
        [&] { comfyui::http_client(clients::options_for(dying.port())).system_stats(); });
    CHECK_THAT(error.what(), Catch::Contains("GET /system_stats failed: ComfyUI closed the connection before its "
                                             "answer was whole (partial message)"));
  }
  SECTION("HTTP, but not ComfyUI's answer") {
    impostor web("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>");
    comfyui::http_client comfyui(clients::options_for(web.port()));
    CHECK(expect_error<comfyq::comfyui_protocol_error>([&] { comfyui.system_stats(); }).field() == "system_stats");
    CHECK(expect_error<comfyq::comfyui_protocol_error>([&] { comfyui.post_prompt({}, "job-8", "worker-a"); }).field() ==
          "prompt.answer");
  }
}

TEST_CASE("an answer above max_answer_bytes is refused, naming the option, not ComfyUI", "[comfyui][http_client]") {
  contract::standin_fixture fixture;
  comfyui::client_options options = clients::options_for(fixture.standin.port());
  const comfyq::artifact stored =
      comfyui::http_client(options).upload_image(std::string(5000, 'x'), {.name = "large.bin", .subfolder = "tenantL"});
  options.max_answer_bytes = 4999;
  comfyui::http_client small(options);

  const auto view = expect_error<comfyq::invalid_input>([&] { small.view(stored); });
  CHECK(view.field() == "comfyui.max_answer_bytes");
  CHECK_THAT(view.what(), Catch::Contains("is 4999 bytes, and GET /view?filename=large.bin") &&
                              Catch::Contains("answered with 5000 bytes") && Catch::Contains("download()"));
  CHECK(expect_error<comfyq::invalid_input>([&] { small.object_info(); }).field() == "comfyui.max_answer_bytes");
}

TEST_CASE("options no client can use are refused up front", "[comfyui][http_client]") {
  CHECK(expect_error<comfyq::invalid_input>([] { comfyui::http_client({.host = "", .port = 8188}); }).field() ==
        "comfyui.host");
  CHECK(expect_error<comfyq::invalid_input>([] { comfyui::http_client({.host = "127.0.0.1", .port = 0}); }).field() ==
        "comfyui.port");
}
