#include "comfyq/attribution.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/expect_invalid.hpp"
#include "support/fixtures.hpp"

using comfyq::artifact;
using comfyq::artifact_origin;
using comfyq::artifacts_from_executed;
using comfyq::artifacts_from_history;
using comfyq::attribute;
using comfyq::attribute_to;
using comfyq::test::expect_invalid;
using comfyq::test::fixture_json;
using nlohmann::json;
using namespace std::string_literals;

namespace {

/// entry["outputs"] of a recorded GET /history/{id} body ({id: entry}).
json history_outputs(const char* fixture) { return fixture_json(fixture).begin().value()["outputs"]; }

/// "data" of a recorded WebSocket executed frame.
json executed_data(const char* fixture) { return fixture_json(fixture)["data"]; }

}  // namespace

TEST_CASE("a history entry lists the files its save nodes wrote") {
  const auto files = artifacts_from_history(history_outputs("comfyui/history_saveimage.json"));
  CHECK(files == std::vector<artifact>{{"out_00001_.png", "tenantA/job123", "output", "3"}});
}

TEST_CASE("an executed message lists the same files as the history") {
  CHECK(artifacts_from_executed(executed_data("comfyui/executed_saveimage.json")) ==
        artifacts_from_history(history_outputs("comfyui/history_saveimage.json")));
}

TEST_CASE("a batch reports one file per image, in order") {
  const auto files = artifacts_from_executed(executed_data("comfyui/executed_saveimage_batch.json"));
  REQUIRE(files.size() == 3);
  CHECK(files[0].filename == "out_00002_.png");
  CHECK(files[2].filename == "out_00004_.png");
  for (const auto& file : files) CHECK(file.node == "2");
}

TEST_CASE("text outputs are not files") {
  CHECK(artifacts_from_history(history_outputs("comfyui/history_previewany_text.json")).empty());
  CHECK(artifacts_from_executed(executed_data("comfyui/executed_previewany_text.json")).empty());
}

TEST_CASE("files under any output key count, flags and text do not") {
  const json outputs = json::parse(R"({
    "9":  {"images": [{"filename": "anim_00001_.webp", "subfolder": "comfyq/t/j/1", "type": "output"}], "animated": [true]},
    "10": {"audio": [{"filename": "a_00001_.flac", "subfolder": "comfyq/t/j/1/audio", "type": "output"}]},
    "11": {"3d": [{"filename": "m_00001_.glb", "subfolder": "comfyq/t/j/1/mesh", "type": "output"}]},
    "12": {"gifs": [null, "g_00000.mp4", {"filename": 5}, {"caption": "no filename"},
                    {"filename": "g_00001.mp4", "subfolder": "comfyq/t/j/1", "type": "output", "format": "video/h264-mp4"}],
           "text": ["hello"]},
    "13": {}})");
  const auto files = artifacts_from_history(outputs);
  REQUIRE(files.size() == 4);
  CHECK(files[0] == artifact{"a_00001_.flac", "comfyq/t/j/1/audio", "output", "10"});
  CHECK(files[1] == artifact{"m_00001_.glb", "comfyq/t/j/1/mesh", "output", "11"});
  CHECK(files[2] == artifact{"g_00001.mp4", "comfyq/t/j/1", "output", "12"});
  CHECK(files[3] == artifact{"anim_00001_.webp", "comfyq/t/j/1", "output", "9"});
}

TEST_CASE("a file record without subfolder or type is in the output root") {
  const auto files = artifacts_from_history(json::parse(R"({"3": {"images": [{"filename": "x.png"}]}})"));
  CHECK(files == std::vector<artifact>{{"x.png", "", "output", "3"}});
}

TEST_CASE("a file record with a non-text subfolder or type is malformed") {
  const auto error = expect_invalid(
      [] { artifacts_from_history(json::parse(R"({"3": {"images": [{"filename": "x.png", "subfolder": 7}]}})")); });
  CHECK(error.field() == "outputs.3.images[0].subfolder");
  CHECK(expect_invalid([] {
          artifacts_from_executed(json::parse(R"({"node": "3", "output": {"images": [{"filename": "x.png", "type": null}]}})"));
        }).field() == "executed.output.images[0].type");
}

TEST_CASE("outputs and executed data must have the documented shape") {
  CHECK(expect_invalid([] { artifacts_from_history(json::array()); }).field() == "outputs");
  CHECK(expect_invalid([] { artifacts_from_executed(json::parse(R"({"output": {}})")); }).field() == "executed.node");
  CHECK(expect_invalid([] { artifacts_from_executed(json::parse(R"({"node": "3"})")); }).field() == "executed.output");
  CHECK(expect_invalid([] { artifacts_from_executed(json::parse(R"({"node": "3", "output": null})")); }).field() ==
        "executed.output");
}

TEST_CASE("a file under a tagged prefix is attributed to its tenant, job and attempt") {
  CHECK(attribute({"out_00001_.png", "comfyq/tenantA/job-1/2", "output", "3"}) ==
        artifact_origin{"tenantA", "job-1", 2, "out_00001_.png"});
  CHECK(attribute({"x_00001_.png", "comfyq/tenantA/job-1/2/sub/dir", "output", "3"}) ==
        artifact_origin{"tenantA", "job-1", 2, "sub/dir/x_00001_.png"});
  CHECK(attribute({"x.png", "comfyq/T.e_s-t/J0b/4294967295", "output", "3"}).attempt == 4294967295u);
  // Save nodes other than SaveImage leave %batch_num% as it is.
  CHECK(attribute({"a_%batch_num%_00001_.flac", "comfyq/t/j/1/audio", "output", "4"}).name ==
        "audio/a_%batch_num%_00001_.flac");
}

TEST_CASE("a file ComfyUI wrote for a tagged workflow comes back to that job") {
  json graph = fixture_json("comfyui/workflow_saveimage.json");
  comfyq::tag_outputs(graph, "tenantA", "job-123", 1);
  // What ComfyUI reported in the recording, with the tagged prefix in place of tenantA/job123/out.
  json executed = executed_data("comfyui/executed_saveimage.json");
  executed["output"]["images"][0]["subfolder"] = "comfyq/tenantA/job-123/1/tenantA/job123";
  const auto files = artifacts_from_executed(executed);
  REQUIRE(files.size() == 1);
  CHECK(attribute_to(files[0], "tenantA", "job-123", 1) == artifact_origin{"tenantA", "job-123", 1, "tenantA/job123/out_00001_.png"});
}

TEST_CASE("an untagged ComfyUI output belongs to nobody") {
  const auto files = artifacts_from_history(history_outputs("comfyui/history_saveimage.json"));
  const auto error = expect_invalid([&] { attribute(files.at(0)); });
  CHECK(error.field() == "artifact");
  CHECK_THAT(error.what(), Catch::Contains("tenantA/job123/out_00001_.png") && Catch::Contains("not under comfyq/"));
}

TEST_CASE("temp previews and inputs are never attributed") {
  const auto previews = artifacts_from_executed(executed_data("comfyui/executed_previewimage_temp.json"));
  REQUIRE(previews.size() == 1);
  CHECK(previews[0].type == "temp");
  CHECK(expect_invalid([&] { attribute(previews[0]); }).field() == "artifact.type");
  CHECK(expect_invalid([] { attribute({"x.png", "comfyq/t/j/1", "input", "3"}); }).field() == "artifact.type");
  CHECK(expect_invalid([] { attribute({"x.png", "comfyq/t/j/1", "", "3"}); }).field() == "artifact.type");
}

TEST_CASE("paths comfyq cannot have written are rejected") {
  const auto [filename, subfolder, reason] = GENERATE(table<std::string, std::string, std::string>({
      {"x.png", "comfyq/t/j/1/../../../u/j/1", "'..' segment"},
      {"x.png", "comfyq/t/j/1/..", "'..' segment"},
      {"..", "comfyq/t/j/1", "'..' segment"},
      {"x.png", "comfyq/t/j/1/./sub", "'.' segment"},
      {"x.png", "/comfyq/t/j/1", "absolute"},
      {"x.png", "/etc", "absolute"},
      {"x.png", "comfyq\\t\\j\\1", "backslash"},
      {"..\\..\\x.png", "comfyq/t/j/1", "backslash"},
      {"x\0.png"s, "comfyq/t/j/1", "control character"},
      {"x.png", "comfyq/t/j/1\0/evil"s, "control character"},
      {"x\n.png", "comfyq/t/j/1", "control character"},
      {"x.png", "comfyq/t/j/1/%2e%2e/%2E%2e/u/j/1", "percent-escape"},
      {"%2fetc%2Fpasswd", "comfyq/t/j/1", "percent-escape"},
      {"x%5C.png", "comfyq/t/j/1", "percent-escape"},
      {"x%00.png", "comfyq/t/j/1", "percent-escape"},
      {"x.png", "comfyq//t/j/1", "empty folder name"},
      {"x.png", "comfyq/t/j/1/", "empty folder name"},
      {"sub/x.png", "comfyq/t/j/1", "not a plain file name"},
      {"", "comfyq/t/j/1", "not a plain file name"},
      {"x.png", "comfyq/t/j", "not under comfyq/"},
      {"x.png", "", "not under comfyq/"},
      {"comfyq", "", "not under comfyq/"},
      {"x.png", "Comfyq/t/j/1", "not under comfyq/"},
      {"x.png", "other/t/j/1", "not under comfyq/"},
      {"x.png", "output/comfyq/t/j/1", "not under comfyq/"},
      {"x.png", "comfyq/.hidden/j/1", "names tenant"},
      {"x.png", "comfyq/ten\xc3\xa4nt/j/1", "names tenant"},
      {"x.png", "comfyq/" + std::string(65, 't') + "/j/1", "names tenant"},
      {"x.png", "comfyq/t/-job/1", "names job"},
      {"x.png", "comfyq/t/j/0", "names attempt '0'"},
      {"x.png", "comfyq/t/j/01", "names attempt '01'"},
      {"x.png", "comfyq/t/j/-1", "names attempt"},
      {"x.png", "comfyq/t/j/+1", "names attempt"},
      {"x.png", "comfyq/t/j/one", "names attempt"},
      {"x.png", "comfyq/t/j/4294967296", "names attempt"},
      {"x.png", "comfyq/t/j/99999999999", "names attempt"},
  }));
  INFO(comfyq::detail::printable(subfolder + " | " + filename));
  const artifact file{filename, subfolder, "output", "3"};
  const auto error = expect_invalid([&] { attribute(file); });
  CHECK_THAT(error.what(), Catch::Contains(reason));
}

TEST_CASE("a job only claims files of its own tenant, job and attempt") {
  const artifact mine{"out_00001_.png", "comfyq/alice/job-1/2", "output", "3"};
  CHECK(attribute_to(mine, "alice", "job-1", 2).name == "out_00001_.png");

  SECTION("another tenant's file") {
    const auto error = expect_invalid([&] { attribute_to({"out_00001_.png", "comfyq/mallory/job-1/2", "output", "3"}, "alice", "job-1", 2); });
    CHECK(error.field() == "artifact");
    CHECK_THAT(error.what(), Catch::Contains("tenant 'mallory'") && Catch::Contains("tenant 'alice'"));
  }
  SECTION("another job's file") {
    const auto error = expect_invalid([&] { attribute_to({"out_00001_.png", "comfyq/alice/job-2/2", "output", "3"}, "alice", "job-1", 2); });
    CHECK_THAT(error.what(), Catch::Contains("job 'job-2'") && Catch::Contains("job 'job-1'"));
  }
  SECTION("an earlier attempt's file, e.g. re-announced by ComfyUI's cache") {
    const auto error = expect_invalid([&] { attribute_to({"out_00001_.png", "comfyq/alice/job-1/1", "output", "3"}, "alice", "job-1", 2); });
    CHECK_THAT(error.what(), Catch::Contains("attempt '1'") && Catch::Contains("attempt '2'"));
  }
  SECTION("a job whose name is a prefix of another's") {
    CHECK_THROWS_AS(attribute_to({"x.png", "comfyq/alice/job-10/2", "output", "3"}, "alice", "job-1", 2), comfyq::invalid_input);
    CHECK_THROWS_AS(attribute_to({"x.png", "comfyq/alice/job-1/22", "output", "3"}, "alice", "job-1", 2), comfyq::invalid_input);
  }
  SECTION("a path that does not parse is rejected before ownership is checked") {
    CHECK_THAT(expect_invalid([] { attribute_to({"x.png", "comfyq/alice/job-1/2/../../../mallory/job-1/2", "output", "3"}, "alice", "job-1", 2); }).what(),
               Catch::Contains("'..' segment"));
  }
}

TEST_CASE("claiming files needs a valid tenant, job and attempt") {
  const artifact mine{"out_00001_.png", "comfyq/alice/job-1/2", "output", "3"};
  CHECK(expect_invalid([&] { attribute_to(mine, "../alice", "job-1", 2); }).field() == "tenant");
  CHECK(expect_invalid([&] { attribute_to(mine, "alice", "", 2); }).field() == "job");
  CHECK(expect_invalid([&] { attribute_to(mine, "alice", "job-1", 0); }).field() == "attempt");
}
