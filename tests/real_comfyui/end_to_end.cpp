// Jobs run end to end on a real ComfyUI by comfyq::comfyui::worker in this process: the output
// ComfyUI wrote lands in the tenant's folder with a manifest that describes it, and every job
// runs in ComfyUI exactly once.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/attribution.hpp"
#include "comfyq/util/sha256.hpp"
#include "real_comfyui/in_process_fixture.hpp"
#include "real_comfyui/workflows.hpp"

namespace {

using comfyq::job_state;
namespace real = comfyq::testing::real;

constexpr std::string_view png_signature{"\x89PNG\r\n\x1a\n", 8};

}  // namespace

TEST_CASE("an image job on real ComfyUI succeeds, its output in the attempt's folder with a manifest that matches it",
          "[real_comfyui][in_process]") {
  real::in_process_fixture f("portraits");
  const std::string id = f.submit(real::invert_graph("portrait"));
  const comfyq::job done = f.wait_until_finished(id);
  INFO("reason: " << done.reason << "; worker log " << (f.folder / "worker.log"));
  REQUIRE(done.state == job_state::succeeded);
  CHECK(done.attempt == 1);

  // <root>/<tenant>/outputs/<job>/1/ holds the image and its manifest, nothing else.
  const std::filesystem::path attempt = f.files.outputs_of(f.tenant, id, 1);
  REQUIRE(std::filesystem::exists(attempt / "manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(comfyq::testing::read_file(attempt / "manifest.json"));
  INFO("manifest: " << manifest.dump());
  REQUIRE(manifest.is_array());
  REQUIRE(manifest.size() == 1);
  const nlohmann::json& entry = manifest.at(0);
  const std::string name = entry.at("name").get<std::string>();
  CHECK(name.rfind("portrait", 0) == 0);
  CHECK(real::files_below(attempt).size() == 2);

  const std::string bytes = comfyq::testing::read_file(attempt / name);
  CHECK(bytes.substr(0, png_signature.size()) == png_signature);
  CHECK(entry.at("size").get<std::uint64_t>() == bytes.size());
  CHECK(entry.at("sha256").get<std::string>() == comfyq::util::sha256_hex(bytes));
  CHECK(entry.at("media_type").get<std::string>() == "image/png");
  CHECK(entry.at("node").get<std::string>() == "3");

  // The job in the queue has the same manifest.
  REQUIRE(done.outputs.size() == 1);
  CHECK(done.outputs.front().name == name);
  CHECK(done.outputs.front().sha256 == entry.at("sha256").get<std::string>());
  CHECK(done.outputs.front().size == bytes.size());

  // ComfyUI saved the same bytes under a path that names this job's first attempt, and that
  // path alone attributes the file to it.
  const std::vector<std::filesystem::path> saved = f.comfyui.outputs_of(f.tenant, id);
  REQUIRE(saved.size() == 1);
  CHECK(saved.front() == std::filesystem::path("1") / name);
  const std::filesystem::path in_comfyui = f.comfyui.output_dir() / "comfyq" / f.tenant / id / saved.front();
  CHECK(comfyq::testing::read_file(in_comfyui) == bytes);
  const comfyq::artifact_origin origin = comfyq::attribute(
      {.filename = in_comfyui.filename().string(),
       .subfolder = std::filesystem::relative(in_comfyui.parent_path(), f.comfyui.output_dir()).string(),
       .type = "output",
       .node = "3"});
  CHECK(origin == comfyq::artifact_origin{.tenant = f.tenant, .job = id, .attempt = 1, .name = name});
}

TEST_CASE("ten jobs through one worker all succeed, and ComfyUI ran each of them exactly once",
          "[real_comfyui][in_process]") {
  constexpr int jobs = 10;
  real::in_process_fixture f("batch");
  std::vector<std::string> ids;
  for (int n = 0; n < jobs; ++n) ids.push_back(f.submit(real::invert_graph("frame")));

  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(120);
  for (const std::string& id : ids) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    const comfyq::job done = f.wait_until_finished(id, std::max(left, std::chrono::seconds(1)));
    INFO("job " << id << ": " << comfyq::to_string(done.state) << " '" << done.reason << "'");
    CHECK(done.state == job_state::succeeded);
    CHECK(done.attempt == 1);
    // A prompt that ran twice would have saved frame_00002_.png beside frame_00001_.png.
    CHECK(f.comfyui.outputs_of(f.tenant, id) ==
          std::vector<std::filesystem::path>{std::filesystem::path("1") / "frame_00001_.png"});
    CHECK(real::files_below(f.files.root() / f.tenant / "outputs" / id).size() == 2);  // the image, its manifest
  }
  std::cout << "real_comfyui: " << jobs << " jobs through one worker in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
            << " ms\n";
}
