// Staging a job's input files: every loader input is pointed at the job's own copy, the files
// to upload come back once each, and references that could read other participants' files are
// refused, naming the node, with the workflow left as it was.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "comfyq/input_staging.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/expect_invalid.hpp"

using comfyq::input_file;
using comfyq::stage_inputs;
using comfyq::upload_input;

namespace {

nlohmann::json load_and_save(const nlohmann::json& image) {
  return {{"1", {{"class_type", "LoadImage"}, {"inputs", {{"image", image}}}}},
          {"2", {{"class_type", "ImageInvert"}, {"inputs", {{"image", {"1", 0}}}}}},
          {"3", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"2", 0}}, {"filename_prefix", "out"}}}}}};
}

}  // namespace

TEST_CASE("a loaded file is pointed at the job's own folder and listed for upload", "[attribution][inputs]") {
  nlohmann::json graph = load_and_save("photos/cat.png");
  const std::vector<input_file> files = stage_inputs(graph, "alice", "j7", 2);
  CHECK(files == std::vector<input_file>{{"1", "image", "photos/cat.png", "comfyq/alice/j7/2/photos", "cat.png"}});
  CHECK(graph["1"]["inputs"]["image"] == "comfyq/alice/j7/2/photos/cat.png");
  CHECK(graph["2"]["inputs"]["image"] == nlohmann::json{"1", 0});  // a link names no file

  nlohmann::json annotated = load_and_save("cat.png [input]");
  CHECK(stage_inputs(annotated, "alice", "j7", 1) ==
        std::vector<input_file>{{"1", "image", "cat.png", "comfyq/alice/j7/1", "cat.png"}});
  CHECK(annotated["1"]["inputs"]["image"] == "comfyq/alice/j7/1/cat.png");
}

TEST_CASE("every kind of loader is staged, and a file two nodes load is uploaded once", "[attribution][inputs]") {
  nlohmann::json graph = {
      {"1", {{"class_type", "LoadImage"}, {"inputs", {{"image", "a.png"}}}}},
      {"2", {{"class_type", "LoadImageMask"}, {"inputs", {{"image", "a.png"}, {"channel", "alpha"}}}}},
      {"3", {{"class_type", "LoadAudio"}, {"inputs", {{"audio", "voice.wav"}}}}},
      {"4", {{"class_type", "LoadVideo"}, {"inputs", {{"file", "clips/walk.mp4"}}}}},
      {"5", {{"class_type", "Load3D"}, {"inputs", {{"model_file", "mesh.glb"}}}}},
      {"6", {{"class_type", "SaveImage"}, {"inputs", {{"images", {"1", 0}}, {"filename_prefix", "x"}}}}}};
  const std::vector<input_file> files = stage_inputs(graph, "bob", "j1", 1);
  std::vector<std::string> uploaded;
  for (const input_file& f : files) uploaded.push_back(f.subfolder + "/" + f.name);
  CHECK(uploaded == std::vector<std::string>{"comfyq/bob/j1/1/a.png", "comfyq/bob/j1/1/voice.wav",
                                             "comfyq/bob/j1/1/clips/walk.mp4", "comfyq/bob/j1/1/mesh.glb"});
  CHECK(graph["2"]["inputs"]["image"] == "comfyq/bob/j1/1/a.png");
  CHECK(graph["2"]["inputs"]["channel"] == "alpha");
}

TEST_CASE("the loaders a real ComfyUI declares in /object_info are the known ones", "[attribution][inputs]") {
  const nlohmann::json object_info = nlohmann::json::parse(comfyq::testing::recording_bytes("GET_object_info_full.json"));
  std::vector<upload_input> declared = comfyq::upload_inputs_of(object_info);
  std::vector<upload_input> known = comfyq::known_upload_inputs();
  const auto order = [](const upload_input& a, const upload_input& b) { return a.node_class < b.node_class; };
  std::sort(declared.begin(), declared.end(), order);
  std::sort(known.begin(), known.end(), order);
  CHECK(declared == known);  // LoadImageOutput declares image_upload too, and is refused
}

TEST_CASE("a custom loader declared in /object_info is staged too", "[attribution][inputs]") {
  const nlohmann::json object_info = {
      {"MyLoader", {{"input", {{"required", {{"picture", {nlohmann::json::array(), {{"image_upload", true}}}}}}}}}}};
  nlohmann::json graph = {{"1", {{"class_type", "MyLoader"}, {"inputs", {{"picture", "p.png"}}}}}};
  const auto files = stage_inputs(graph, "carol", "j2", 1, comfyq::upload_inputs_of(object_info));
  REQUIRE(files.size() == 1);
  CHECK(graph["1"]["inputs"]["picture"] == "comfyq/carol/j2/1/p.png");
}

TEST_CASE("a reference that could read someone else's files is refused, naming the node", "[attribution][inputs]") {
  for (const char* hostile : {"../bob/secret.png", "/etc/passwd", "a/../../b.png", "a//b.png", "./a.png", "dir/",
                              "x.png [output]", "x.png [temp]", "x.png[input]", "a\\b.png", "a\nb.png", ""}) {
    INFO(hostile);
    nlohmann::json graph = load_and_save(hostile);
    const nlohmann::json before = graph;
    const comfyq::invalid_input e = comfyq::test::expect_invalid([&] { stage_inputs(graph, "alice", "j7", 1); });
    CHECK(e.field() == "workflow.1.inputs.image");
    CHECK_THAT(e.what(), Catch::Matchers::Contains("e.g. \"cat.png\""));
    CHECK(graph == before);
  }
  nlohmann::json number = load_and_save(42);
  CHECK_THAT(comfyq::test::expect_invalid([&] { stage_inputs(number, "alice", "j7", 1); }).what(),
             Catch::Matchers::Contains("is number, but it names a file"));
}

TEST_CASE("LoadImageOutput reads the shared output folder and is refused", "[attribution][inputs]") {
  nlohmann::json graph = load_and_save("x.png");
  graph["1"]["class_type"] = "LoadImageOutput";
  const nlohmann::json before = graph;
  const comfyq::invalid_input e = comfyq::test::expect_invalid([&] { stage_inputs(graph, "alice", "j7", 1); });
  CHECK(e.field() == "workflow.1.class_type");
  CHECK_THAT(e.what(), Catch::Matchers::Contains("load it with LoadImage instead"));
  CHECK(graph == before);
}

TEST_CASE("bad ids are refused before anything changes", "[attribution][inputs]") {
  nlohmann::json graph = load_and_save("cat.png");
  const nlohmann::json before = graph;
  CHECK(comfyq::test::expect_invalid([&] { stage_inputs(graph, "../x", "j7", 1); }).field() == "tenant");
  CHECK(comfyq::test::expect_invalid([&] { stage_inputs(graph, "alice", "j7", 0); }).field() == "attempt");
  CHECK(graph == before);
}
