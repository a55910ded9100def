// The tenants' folder: inputs read from <tenant>/inputs, each attempt's outputs and manifest in
// <tenant>/outputs/<job>/<attempt>, and no path that leaves a tenant's folder.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "comfyq/comfyui/job_run.hpp"
#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/json.hpp"
#include "comfyui_contract/standin_fixture.hpp"
#include "support/expect_error.hpp"
#include "worker/worker_fixture.hpp"

using comfyq::comfyui::tenant_directory;
using comfyq::test::expect_error;

TEST_CASE("a tenant's inputs are read from its own folder only", "[worker][tenant_files]") {
  comfyq::testing::contract::scratch_folder scratch;
  tenant_directory files(scratch.path());
  std::filesystem::create_directories(files.inputs_of("alice") / "photos");
  std::ofstream(files.inputs_of("alice") / "photos" / "cat.png", std::ios::binary) << std::string("\x89PNG\0x", 6);

  CHECK(files.read_input("alice", "photos/cat.png") == std::string("\x89PNG\0x", 6));
  CHECK_FALSE(files.read_input("alice", "photos/dog.png"));
  CHECK_FALSE(files.read_input("bob", "photos/cat.png"));
  CHECK(expect_error<comfyq::invalid_input>([&] { files.read_input("bob", "../alice/inputs/photos/cat.png"); }).field() ==
        "input path");
  CHECK(expect_error<comfyq::invalid_input>([&] { files.read_input("../alice", "photos/cat.png"); }).field() == "tenant");
  CHECK(expect_error<comfyq::invalid_input>([] { tenant_directory(""); }).field() == "files.root");
}

TEST_CASE("an attempt's outputs and manifest go to its own folder, and can be discarded", "[worker][tenant_files]") {
  comfyq::testing::contract::scratch_folder scratch;
  tenant_directory files(scratch.path());
  const comfyq::artifact_origin where{.tenant = "alice", .job = "j1", .attempt = 2, .name = "sub/out_00001_.png"};
  files.begin_attempt("alice", "j1", 2);
  std::ofstream(files.staging_path(where), std::ios::binary) << "bytes";
  files.keep_output(where);
  const comfyq::manifest_entry entry{.name = where.name, .size = 5, .sha256 = "ab", .media_type = "image/png", .node = "9"};
  files.write_manifest("alice", "j1", 2, {entry});

  const auto folder = scratch.path() / "alice" / "outputs" / "j1" / "2";
  CHECK(files.outputs_of("alice", "j1", 2) == folder);
  CHECK(comfyq::testing::read_file(folder / "sub" / "out_00001_.png") == "bytes");
  CHECK(nlohmann::json::parse(comfyq::testing::read_file(folder / "manifest.json")) ==
        nlohmann::json::array({entry}));
  CHECK(expect_error<comfyq::invalid_input>([&] {
          files.staging_path({.tenant = "alice", .job = "j1", .attempt = 2, .name = "../../j2/2/x.png"});
        }).field() == "output name");
  CHECK_THROWS_AS(files.keep_output({.tenant = "alice", .job = "j1", .attempt = 2, .name = "never-written.png"}),
                  std::filesystem::filesystem_error);
  CHECK_THROWS_AS(files.begin_attempt("alice", "j1", 2), std::filesystem::filesystem_error);  // written once

  files.discard("alice", "j1", 2);
  CHECK_FALSE(std::filesystem::exists(folder));
}

TEST_CASE("a job's first attempt runs under its id in ComfyUI, later ones under their own", "[worker]") {
  CHECK(comfyq::comfyui::prompt_id_for("job-7", 1) == "job-7");
  CHECK(comfyq::comfyui::prompt_id_for("job-7", 2) == "job-7.2");
  CHECK(comfyq::comfyui::prompt_id_for("job-7", 3) != comfyq::comfyui::prompt_id_for("job-7", 2));
}
