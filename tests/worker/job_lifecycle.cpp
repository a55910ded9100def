// The worker runs jobs from a queue on a ComfyUI (the stand-in) and tells the queue how each
// ended: outputs in the tenant's folder with their manifest, progress in order, inputs staged,
// failures, rejections and missing inputs not retried. On both stores: memory and a real Redis.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/json.hpp"
#include "comfyq/util/sha256.hpp"
#include "comfyui_standin/png.hpp"
#include "worker/worker_fixture.hpp"

namespace {

using namespace comfyq::testing::worker_tests;
namespace clients = comfyq::testing::clients;
namespace png = comfyq::testing::standin;
using comfyq::job_state;

std::vector<comfyq::event> events_of(comfyq::store::contract& queue, const std::string& job) {
  std::vector<comfyq::event> found;
  for (auto& e : queue.read_events("0", 10'000, comfyq::duration::zero())) {
    if (e.value.job == job) found.push_back(std::move(e.value));
  }
  return found;
}

// LoadImage "1" (reading `file`) -> ImageInvert "2" -> SaveImage "3".
nlohmann::json load_invert_save(const std::string& file) {
  return {{"1", {{"class_type", "LoadImage"}, {"inputs", {{"image", file}}}}},
          {"2", {{"class_type", "ImageInvert"}, {"inputs", {{"image", {"1", 0}}}}}},
          {"3", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"2", 0}}, {"filename_prefix", "inverted"}}}}}};
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a job's outputs land in its tenant's folder, with the manifest the queue keeps", "[worker]",
                        backends) {
  worker_fixture<TestType> f;
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("portraits/me"));

  const comfyq::job done = f.run_until_finished(worker, id);
  REQUIRE(done.state == job_state::succeeded);
  REQUIRE(done.outputs.size() == 1);
  const comfyq::manifest_entry& entry = done.outputs.front();
  CHECK(entry.name == "portraits/me_00001_.png");
  CHECK(entry.node == "3");
  CHECK(entry.media_type == "image/png");

  const auto folder = f.attempt_folder("alice", id, 1);
  const std::string bytes = read_file(folder / entry.name);
  CHECK(png::looks_like_image(bytes));
  CHECK(entry.size == bytes.size());
  CHECK(entry.sha256 == comfyq::util::sha256_hex(bytes));
  CHECK(nlohmann::json::parse(read_file(folder / "manifest.json")) == nlohmann::json(done.outputs));
  // ComfyUI wrote it under the job's tagged folder, nowhere else.
  CHECK(std::filesystem::exists(f.standin.folders().output + "/comfyq/alice/" + id + "/1/portraits/me_00001_.png"));

  SECTION("progress events come in the order ComfyUI ran the nodes, between leased and succeeded") {
    const auto events = events_of(*f.queue, id);
    std::vector<std::string> seen;
    for (const auto& e : events) {
      seen.push_back(e.type == comfyq::event_type::progress ? "node " + e.data.value("node", "?")
                                                             : std::string(comfyq::to_string(e.type)));
    }
    CHECK(seen == std::vector<std::string>{"submitted", "leased", "node 1", "node 2", "node 3", "succeeded"});
  }
  SECTION("the worker registered itself with its ComfyUI's version, devices and node definitions") {
    const comfyq::queue_snapshot snapshot = f.queue->snapshot();
    REQUIRE(snapshot.workers.size() == 1);
    const auto& w = snapshot.workers.front();
    CHECK(w.id == "gpu0");
    CHECK(w.state == comfyq::worker_state::idle);
    CHECK(w.comfyui == "127.0.0.1:" + std::to_string(f.standin.port()));
    CHECK(w.comfyui_version == "0.8.0");
    CHECK_FALSE(w.gpu.empty());
    const auto object_info = f.queue->object_info(w.object_info);
    REQUIRE(object_info.has_value());
    CHECK(nlohmann::json::parse(*object_info).contains("LoadImage"));
  }
}

TEMPLATE_LIST_TEST_CASE("every file the save nodes write is collected, whatever its kind, and previews are not",
                        "[worker]", backends) {
  worker_fixture<TestType> f;
  nlohmann::json graph = clients::invert_graph("still");
  graph["4"] = {{"class_type", "SaveAnimatedWEBP"},
                {"inputs", {{"images", {"2", 0}}, {"filename_prefix", "clips/loop"}, {"fps", 6.0}, {"lossless", true},
                            {"quality", 80}, {"method", "default"}}}};
  graph["5"] = {{"class_type", "PreviewImage"}, {"inputs", {{"images", {"2", 0}}}}};
  const std::string id = f.submit(graph);

  auto options = quick_options();
  SECTION("fetched with GET /view") {}
  SECTION("read from ComfyUI's output folder, shared with the worker") {
    options.comfyui_output_dir = f.standin.folders().output;
  }
  auto worker = f.make_worker(options);
  const comfyq::job done = f.run_until_finished(worker, id);
  REQUIRE(done.state == job_state::succeeded);
  REQUIRE(done.outputs.size() == 2);
  CHECK(done.outputs[0].name == "still_00001_.png");
  CHECK(done.outputs[0].media_type == "image/png");
  CHECK(done.outputs[1].name == "clips/loop_00001_.webp");
  CHECK(done.outputs[1].media_type == "image/webp");
  CHECK(done.outputs[1].node == "4");
  for (const auto& entry : done.outputs) {
    CHECK(comfyq::util::sha256_hex(read_file(f.attempt_folder("alice", id, 1) / entry.name)) == entry.sha256);
  }
}

TEMPLATE_LIST_TEST_CASE("a job's input files are uploaded into its own folder in ComfyUI", "[worker]", backends) {
  worker_fixture<TestType> f;
  auto worker = f.make_worker();
  const std::string image = png::encode_png({12, 8}, {10, 200, 30});
  std::filesystem::create_directories(f.files.inputs_of("bob") / "photos");
  std::ofstream(f.files.inputs_of("bob") / "photos" / "cat.png", std::ios::binary) << image;

  SECTION("a file the tenant uploaded is staged and loaded") {
    const std::string id = f.submit(load_invert_save("photos/cat.png"), "bob");
    const comfyq::job done = f.run_until_finished(worker, id);
    REQUIRE(done.state == job_state::succeeded);
    CHECK(read_file(f.standin.folders().input + "/comfyq/bob/" + id + "/1/photos/cat.png") == image);
    REQUIRE(done.outputs.size() == 1);
    const auto size = png::png_size(read_file(f.attempt_folder("bob", id, 1) / done.outputs.front().name));
    REQUIRE(size.has_value());
    CHECK(size->width == 12);
  }
  SECTION("a file it did not upload fails the job at once, naming the node and the file") {
    const std::string id = f.submit(load_invert_save("photos/dog.png"), "bob");
    const comfyq::job done = f.run_until_finished(worker, id);
    CHECK(done.state == job_state::failed);
    CHECK(done.attempt == 1);
    CHECK_THAT(done.reason, Catch::Contains("node 1 (LoadImage)") && Catch::Contains("'photos/dog.png'") &&
                                Catch::Contains("upload it"));
  }
  SECTION("another tenant's file is not found in this tenant's inputs") {
    const std::string id = f.submit(load_invert_save("photos/cat.png"), "mallory");
    CHECK(f.run_until_finished(worker, id).state == job_state::failed);
  }
}

TEMPLATE_LIST_TEST_CASE("what ComfyUI refuses or fails ends the job as failed, not retried", "[worker]", backends) {
  worker_fixture<TestType> f;
  auto worker = f.make_worker();

  SECTION("a node that raises: the reason names it and says what it raised") {
    f.standin.set_knobs({.fail_node = "2", .fail_message = "CUDA out of memory"});
    const comfyq::job done = f.run_until_finished(worker, f.submit(clients::invert_graph("out")));
    CHECK(done.state == job_state::failed);
    CHECK(done.attempt == 1);
    CHECK_THAT(done.reason, Catch::Contains("node 2 (ImageInvert)") && Catch::Contains("CUDA out of memory"));
  }
  SECTION("a 400 rejection keeps ComfyUI's node_errors in the job's events") {
    f.standin.set_knobs({.invalid_node = "2"});
    const std::string id = f.submit(clients::invert_graph("out"));
    const comfyq::job done = f.run_until_finished(worker, id);
    CHECK(done.state == job_state::failed);
    CHECK_THAT(done.reason, Catch::Contains("rejected the workflow"));
    bool kept = false;
    for (const auto& e : events_of(*f.queue, id)) {
      kept = kept || (e.type == comfyq::event_type::progress && e.data.contains("comfyui_rejection") &&
                      e.data["comfyui_rejection"]["node_errors"].contains("2"));
    }
    CHECK(kept);
  }
  SECTION("a partial accept (200 with node_errors) is a failure, and what ComfyUI kept is stopped") {
    nlohmann::json graph = clients::invert_graph("kept");
    graph["4"] = {{"class_type", "SaveImage"}, {"inputs", {{"images", {"1", 0}}, {"filename_prefix", "dropped"}}}};
    f.standin.set_knobs({.invalid_node = "2"});  // only output 3 depends on it
    const comfyq::job done = f.run_until_finished(worker, f.submit(graph));
    CHECK(done.state == job_state::failed);
    CHECK_THAT(done.reason, Catch::Contains("dropped output nodes"));
  }
  SECTION("a workflow that is not the API format fails with the fix in the reason") {
    const comfyq::job done = f.run_until_finished(worker, f.submit({{"nodes", nlohmann::json::array()}, {"links", nlohmann::json::array()}}));
    CHECK(done.state == job_state::failed);
    CHECK_THAT(done.reason, Catch::Contains("Export (API)"));
  }
}

TEMPLATE_LIST_TEST_CASE("a cancel request interrupts the running prompt and cancels the job", "[worker]", backends) {
  worker_fixture<TestType> f;
  f.standin.set_knobs({.node_delays = {{"ImageInvert", std::chrono::milliseconds(1500)}}});
  auto worker = f.make_worker();
  const std::string id = f.submit(clients::invert_graph("out"));
  f.when_running_node(id, "2", [&] { f.queue->cancel(id); });

  const comfyq::job done = f.run_until_finished(worker, id);
  CHECK(done.state == job_state::cancelled);
  CHECK(done.outputs.empty());
  CHECK_FALSE(std::filesystem::exists(f.attempt_folder("alice", id, 1)));
  // ComfyUI stopped it: it never saved.
  CHECK_FALSE(std::filesystem::exists(f.standin.folders().output + "/comfyq/alice/" + id));
}

TEMPLATE_LIST_TEST_CASE("a job that runs past max_runtime is interrupted and fails", "[worker]", backends) {
  worker_fixture<TestType> f;
  f.standin.set_knobs({.node_delays = {{"ImageInvert", std::chrono::milliseconds(1500)}}});
  auto options = quick_options();
  options.max_runtime = std::chrono::milliseconds(300);
  auto worker = f.make_worker(options);
  const comfyq::job done = f.run_until_finished(worker, f.submit(clients::invert_graph("out")));
  CHECK(done.state == job_state::failed);
  CHECK_THAT(done.reason, Catch::Contains("max_runtime"));
}

TEMPLATE_LIST_TEST_CASE("sampler steps are published as progress, with previews when asked and small enough", "[worker]",
                        backends) {
  worker_fixture<TestType> f;
  f.standin.set_knobs({.sampler_previews = true});
  const std::string id = f.submit(clients::graph_of(comfyq::testing::contract::sampler_job("", "")));
  auto options = quick_options();
  std::size_t expected_previews = 0;
  SECTION("previews off (the default)") {}
  SECTION("previews up to 1 MiB") {
    options.preview_max_bytes = 1 << 20;
    expected_previews = 4;  // one per step of the sampler's 4
  }
  SECTION("previews larger than the limit are left out") { options.preview_max_bytes = 8; }
  auto worker = f.make_worker(options);
  REQUIRE(f.run_until_finished(worker, id).state == job_state::succeeded);

  std::vector<int> steps;
  std::size_t previews = 0;
  for (const comfyq::event& e : events_of(*f.queue, id)) {
    if (e.type != comfyq::event_type::progress) continue;
    if (e.data.contains("value")) {
      CHECK(e.data["node"] == "3");
      CHECK(e.data["max"] == 4);
      steps.push_back(e.data["value"].get<int>());
    }
    if (e.data.contains("preview")) {
      ++previews;
      CHECK(e.data["node"] == "3");
      CHECK_FALSE(e.data["preview"]["base64"].get<std::string>().empty());
      CHECK_THAT(e.data["preview"]["media_type"].get<std::string>(), Catch::StartsWith("image/"));
    }
  }
  CHECK(steps == std::vector<int>{1, 2, 3, 4});
  CHECK(previews == expected_previews);
}
