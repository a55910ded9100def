#include "comfyq/output_tagging.hpp"

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/attribution.hpp"
#include "comfyq/workflow.hpp"
#include "support/expect_invalid.hpp"
#include "support/fixtures.hpp"

using comfyq::has_save_node;
using comfyq::tag_outputs;
using comfyq::test::expect_invalid;
using comfyq::test::fixture_json;
using comfyq::test::saveimage_workflow;
using nlohmann::json;
using namespace std::string_literals;

namespace {

json save_node(const std::string& class_type, const json& inputs) {
  return json{{"class_type", class_type}, {"inputs", inputs}};
}

/// The prefix tag_outputs gives node 3 of the recorded SaveImage workflow when its prefix is `prefix`.
std::string tagged_prefix(const std::string& prefix, const std::string& tenant = "tenantA",
                          const std::string& job = "job-1", std::uint32_t attempt = 2) {
  json graph = saveimage_workflow();
  graph["3"]["inputs"]["filename_prefix"] = prefix;
  tag_outputs(graph, tenant, job, attempt);
  return graph["3"]["inputs"]["filename_prefix"].get<std::string>();
}

/// The record ComfyUI's SaveImage reports for the first file it writes under `prefix`
/// (folder part -> subfolder, last part + counter -> filename).
comfyq::artifact saved_by_comfyui(const std::string& prefix) {
  const auto slash = prefix.rfind('/');
  return comfyq::artifact{prefix.substr(slash + 1) + "_00001_.png", prefix.substr(0, slash), "output", "3"};
}

std::vector<std::string> segments_of(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (std::size_t end; (end = path.find('/', start)) != std::string::npos; start = end + 1) {
    segments.push_back(path.substr(start, end - start));
  }
  segments.push_back(path.substr(start));
  return segments;
}

}  // namespace

TEST_CASE("a save node's prefix moves under the attempt's folder") {
  json graph = saveimage_workflow();
  tag_outputs(graph, "tenantA", "job-123", 1);
  CHECK(graph["3"]["inputs"]["filename_prefix"] == "comfyq/tenantA/job-123/1/tenantA/job123/out");
}

TEST_CASE("tagging changes nothing but prefixes") {
  const json original = saveimage_workflow();
  json graph = original;
  tag_outputs(graph, "tenantA", "job-123", 3);
  graph["3"]["inputs"]["filename_prefix"] = original["3"]["inputs"]["filename_prefix"];
  CHECK(graph == original);
}

TEST_CASE("tagging does not change a workflow's shape") {
  json graph = saveimage_workflow();
  const std::string shape = comfyq::workflow_shape(graph);
  tag_outputs(graph, "tenantA", "job-123", 1);
  CHECK(comfyq::workflow_shape(graph) == shape);
}

TEST_CASE("every node with a filename_prefix is tagged, custom nodes included") {
  json graph = saveimage_workflow();
  graph["4"] = save_node("SaveAudioMP3", {{"audio", json::array({"1", 0})}, {"filename_prefix", "audio/ComfyUI"}});
  graph["5"] = save_node("MyCustomVideoSaver", {{"frames", json::array({"1", 0})}, {"filename_prefix", "clip"}});
  tag_outputs(graph, "t", "j", 1);
  CHECK(graph["4"]["inputs"]["filename_prefix"] == "comfyq/t/j/1/audio/ComfyUI");
  CHECK(graph["5"]["inputs"]["filename_prefix"] == "comfyq/t/j/1/clip");
}

TEST_CASE("save nodes whose folder comes from another input are tagged through that input") {
  json graph = saveimage_workflow();
  graph["4"] = save_node("SaveLoRA", {{"lora", json::array({"1", 0})}, {"prefix", "loras/ComfyUI_trained_lora"}});
  graph["5"] = save_node("SaveTrainingDataset", {{"latents", json::array({"1", 0})}, {"folder_name", "ds"}});
  graph["6"] = save_node("SaveImageDataSetToFolder",
                         {{"images", json::array({"1", 0})}, {"folder_name", "dataset"}, {"filename_prefix", "a/../b"}});
  graph["7"] = save_node("SaveImageTextDataSetToFolder",
                         {{"images", json::array({"1", 0})}, {"folder_name", "../up"}, {"filename_prefix", "image"}});
  tag_outputs(graph, "t", "j", 1);
  CHECK(graph["4"]["inputs"]["prefix"] == "comfyq/t/j/1/loras/ComfyUI_trained_lora");
  CHECK(graph["5"]["inputs"]["folder_name"] == "comfyq/t/j/1/ds");
  // These nodes write filename_prefix inside folder_name as a plain name: no folders allowed in it.
  CHECK(graph["6"]["inputs"]["folder_name"] == "comfyq/t/j/1/dataset");
  CHECK(graph["6"]["inputs"]["filename_prefix"] == "a_.__b");
  CHECK(graph["7"]["inputs"]["folder_name"] == "comfyq/t/j/1/up");
  CHECK(graph["7"]["inputs"]["filename_prefix"] == "image");
}

TEST_CASE("inputs that merely look like prefixes on other nodes are left alone") {
  json graph = saveimage_workflow();
  graph["4"] = save_node("AddTextPrefix", {{"texts", json::array({"1", 0})}, {"prefix", "a photo of "}});
  graph["5"] = save_node("LoadTrainingDataset", {{"folder_name", "training_dataset"}});
  const json before = graph;
  tag_outputs(graph, "t", "j", 1);
  CHECK(graph["4"] == before["4"]);
  CHECK(graph["5"] == before["5"]);
}

TEST_CASE("a preview-only workflow has no save node and tagging leaves it as it is") {
  for (const char* fixture : {"comfyui/workflow_previewimage.json", "comfyui/workflow_previewany.json"}) {
    INFO(fixture);
    json graph = fixture_json(fixture);
    const json before = graph;
    CHECK_FALSE(has_save_node(graph));
    tag_outputs(graph, "t", "j", 1);
    CHECK(graph == before);
  }
  CHECK(has_save_node(saveimage_workflow()));
}

TEST_CASE("hostile prefixes stay inside the job's folder and fetchable through /view") {
  const std::string root = "comfyq/tenantA/job-1/2/";
  const auto [prefix, expected] = GENERATE(table<std::string, std::string>({
      {"../escape/out", "escape/out"},
      {"/abs/path/out", "abs/path/out"},
      {"a/../../b", "a/b"},
      {"..\\..\\windows\\out", "windows/out"},
      {"a//b/./c/", "a/b/c"},
      {"", "ComfyUI"},
      {"/", "ComfyUI"},
      {"../..", "ComfyUI"},
      {".", "ComfyUI"},
      {"a\0b"s, "a_b"},
      {"line\nbreak\ttab\x7f", "line_break_tab_"},
      {"my cat: v2?", "my_cat__v2_"},
      {"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "caf_/__"},
      {"emoji \xf0\x9f\x98\x80", "emoji__"},
      {"...", "._."},
      {"v1..2/a..b", "v1._2/a._b"},
      {"comfyq/out", "comfyq/out"},
      {"100%", "100_"},
      {"%2e%2e/%2Fetc/%5c%00", "_2e_2e/_2Fetc/_5c_00"},
      {"%foo%/%%year%%", "_foo_/_%year%_"},
  }));
  INFO(prefix);
  CHECK(tagged_prefix(prefix) == root + expected);
}

TEST_CASE("the %tokens% ComfyUI expands survive tagging") {
  json graph = fixture_json("comfyui/workflow_saveimage_date_tokens.json");
  tag_outputs(graph, "tenantA", "job-9", 1);
  CHECK(graph["2"]["inputs"]["filename_prefix"] == "comfyq/tenantA/job-9/1/tenantA/%year%-%month%-%day%/w%width%_h%height%");
  CHECK(tagged_prefix("img_%batch_num%") == "comfyq/tenantA/job-1/2/img_%batch_num%");
  CHECK(tagged_prefix("%hour%%minute%%second%") == "comfyq/tenantA/job-1/2/%hour%%minute%%second%");
}

TEST_CASE("very long prefixes are capped, keeping the file name part") {
  const std::string long_name(1000, 'a');
  CHECK(tagged_prefix(long_name) == "comfyq/tenantA/job-1/2/" + std::string(80, 'a'));

  std::string deep;
  for (int i = 0; i < 50; ++i) deep += "folder" + std::to_string(i) + "/";
  deep += "final";
  const std::string tagged = tagged_prefix(deep);
  const std::string rest = tagged.substr(std::string("comfyq/tenantA/job-1/2/").size());
  CHECK(rest.size() <= 200);
  CHECK(rest.substr(rest.size() - 6) == "/final");
}

TEST_CASE("re-tagging replaces an earlier tag instead of nesting it") {
  CHECK(tagged_prefix("comfyq/other/job-7/3/renders/out") == "comfyq/tenantA/job-1/2/renders/out");
  CHECK(tagged_prefix("comfyq/a/b/1/comfyq/c/d/2/out") == "comfyq/tenantA/job-1/2/out");
  json graph = saveimage_workflow();
  tag_outputs(graph, "tenantA", "job-1", 1);
  tag_outputs(graph, "tenantA", "job-1", 2);
  CHECK(graph["3"]["inputs"]["filename_prefix"] == "comfyq/tenantA/job-1/2/tenantA/job123/out");
}

TEST_CASE("whatever the prefix, ComfyUI's file is attributed to the job that was tagged") {
  const std::vector<std::string> pieces = {"..", ".", "/", "\\", "a", "%year%", "\0"s, " ", "\xc3\xa9", ":", "comfyq",
                                           "tenantB", "1", "//", "x.png", std::string(90, 'z'),
                                           "%", "%2e", "%2F", "%5c", "%00", "%batch_num%"};
  std::mt19937 random(20261122);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (int round = 0; round < 2000; ++round) {
    std::string prefix;
    for (int n = length(random); n > 0; --n) prefix += pieces[pick(random)];
    INFO(comfyq::detail::printable(prefix));
    const std::string tagged = tagged_prefix(prefix, "tenantA", "job-1", 2);
    CHECK(tagged.find("..") == std::string::npos);
    for (const auto& segment : segments_of(tagged)) {
      CHECK(segment != "");
      CHECK(segment != ".");
      CHECK(segment != "..");
    }
    const auto origin = comfyq::attribute_to(saved_by_comfyui(tagged), "tenantA", "job-1", 2);
    CHECK(origin.name.size() > 0);
  }
}

TEST_CASE("a linked prefix cannot be attributed and is refused") {
  json graph = saveimage_workflow();
  graph["4"] = save_node("StringConstant", {{"string", "tenantB/out"}});
  graph["3"]["inputs"]["filename_prefix"] = json::array({"4", 0});
  const auto error = expect_invalid([&] { tag_outputs(graph, "t", "j", 1); });
  CHECK(error.field() == "workflow.3.inputs.filename_prefix");
  CHECK_THAT(error.what(), Catch::Contains("literal prefix"));

  json dataset = saveimage_workflow();
  dataset["5"] = save_node("SaveImageDataSetToFolder",
                           {{"images", json::array({"1", 0})}, {"folder_name", "ds"}, {"filename_prefix", json::array({"1", 0})}});
  CHECK(expect_invalid([&] { tag_outputs(dataset, "t", "j", 1); }).field() == "workflow.5.inputs.filename_prefix");
}

TEST_CASE("a prefix must be text") {
  for (const char* value : {"42", "null", "{}", "true"}) {
    INFO(value);
    json graph = saveimage_workflow();
    graph["3"]["inputs"]["filename_prefix"] = json::parse(value);
    CHECK(expect_invalid([&] { tag_outputs(graph, "t", "j", 1); }).field() == "workflow.3.inputs.filename_prefix");
  }
}

TEST_CASE("a known save node without its prefix input is refused") {
  json graph = saveimage_workflow();
  graph["4"] = save_node("SaveLoRA", {{"lora", json::array({"1", 0})}});
  const auto error = expect_invalid([&] { tag_outputs(graph, "t", "j", 1); });
  CHECK(error.field() == "workflow.4.inputs.prefix");
  CHECK_THAT(error.what(), Catch::Contains("is missing"));
}

TEST_CASE("a workflow that fails to tag is left unchanged") {
  json graph = saveimage_workflow();
  graph["4"] = save_node("SaveImage", {{"images", json::array({"2", 0})}, {"filename_prefix", json::array({"1", 0})}});
  const json before = graph;
  CHECK_THROWS_AS(tag_outputs(graph, "t", "j", 1), comfyq::invalid_input);
  CHECK(graph == before);
}

TEST_CASE("tagging needs a valid tenant, job and attempt") {
  json graph = saveimage_workflow();
  const json before = graph;
  for (const auto& bad : {""s, ".."s, "a/b"s, "a\\b"s, "nul\0"s, std::string(65, 'a'), "t\xc3\xa9"s}) {
    INFO(comfyq::detail::printable(bad));
    CHECK(expect_invalid([&] { tag_outputs(graph, bad, "job-1", 1); }).field() == "tenant");
    CHECK(expect_invalid([&] { tag_outputs(graph, "tenantA", bad, 1); }).field() == "job");
  }
  CHECK(expect_invalid([&] { tag_outputs(graph, "tenantA", "job-1", 0); }).field() == "attempt");
  CHECK(graph == before);
}

TEST_CASE("an invalid workflow is not tagged") {
  json graph = fixture_json("comfyui/workflow_ui_format.json");
  CHECK_THAT(expect_invalid([&] { tag_outputs(graph, "t", "j", 1); }).what(), Catch::Contains("Export (API)"));
}
