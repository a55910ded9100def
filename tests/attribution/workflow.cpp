#include "comfyq/workflow.hpp"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/expect_invalid.hpp"
#include "support/fixtures.hpp"

using comfyq::validate_workflow;
using comfyq::workflow_shape;
using comfyq::test::expect_invalid;
using comfyq::test::fixture_json;
using comfyq::test::saveimage_workflow;
using nlohmann::json;

TEST_CASE("the workflow ComfyUI ran in the recording is a valid API-format workflow") {
  CHECK_NOTHROW(validate_workflow(saveimage_workflow()));
  CHECK_NOTHROW(validate_workflow(fixture_json("comfyui/workflow_previewany.json")));
}

TEST_CASE("workflows only ComfyUI's node definitions can reject pass the structural check") {
  const json cases = fixture_json("comfyui/workflows_only_comfyui_rejects.json");
  REQUIRE(cases.size() == 8);
  for (const auto& [label, graph] : cases.items()) {
    INFO(label);
    CHECK_NOTHROW(validate_workflow(graph));
  }
}

TEST_CASE("a UI-format export is rejected with directions to Export (API)") {
  const auto error = expect_invalid([] { validate_workflow(fixture_json("comfyui/workflow_ui_format.json")); });
  CHECK(error.field() == "workflow");
  CHECK_THAT(error.what(), Catch::Contains("UI-format") && Catch::Contains("Export (API)"));

  const json links_only = json::parse(R"({"links": [], "extra": {}})");
  CHECK_THAT(expect_invalid([&] { validate_workflow(links_only); }).what(), Catch::Contains("Export (API)"));
}

TEST_CASE("an empty workflow is rejected") {
  const auto error = expect_invalid([] { validate_workflow(fixture_json("comfyui/workflow_empty.json")); });
  CHECK(error.field() == "workflow");
  CHECK_THAT(error.what(), Catch::Contains("no nodes"));
}

TEST_CASE("a workflow must be an object of nodes") {
  for (const char* text : {"[]", "null", "\"SaveImage\"", "42"}) {
    INFO(text);
    const auto error = expect_invalid([&] { validate_workflow(json::parse(text)); });
    CHECK(error.field() == "workflow");
    CHECK_THAT(error.what(), Catch::Contains("Export (API)"));
  }
}

TEST_CASE("every node names its class") {
  SECTION("the recorded prompt without class_type") {
    const auto error = expect_invalid([] { validate_workflow(fixture_json("comfyui/workflow_missing_class_type.json")); });
    CHECK(error.field() == "workflow.2.class_type");
    CHECK_THAT(error.what(), Catch::Contains("is missing") && Catch::Contains("SaveImage"));
  }
  SECTION("a class_type that is not a non-empty string") {
    for (const char* value : {"\"\"", "3", "null", "[\"1\", 0]"}) {
      INFO(value);
      json graph = saveimage_workflow();
      graph["2"]["class_type"] = json::parse(value);
      CHECK(expect_invalid([&] { validate_workflow(graph); }).field() == "workflow.2.class_type");
    }
  }
}

TEST_CASE("every node is an object with an inputs object") {
  json graph = saveimage_workflow();
  SECTION("a node that is not an object") {
    graph["2"] = "ImageInvert";
    CHECK(expect_invalid([&] { validate_workflow(graph); }).field() == "workflow.2");
  }
  SECTION("a node without inputs") {
    graph["2"].erase("inputs");
    const auto error = expect_invalid([&] { validate_workflow(graph); });
    CHECK(error.field() == "workflow.2.inputs");
    CHECK_THAT(error.what(), Catch::Contains("may be empty"));
  }
  SECTION("inputs that are not an object") {
    graph["2"]["inputs"] = json::array({"1", 0});
    CHECK(expect_invalid([&] { validate_workflow(graph); }).field() == "workflow.2.inputs");
  }
  SECTION("an empty node id") {
    graph[""] = graph["1"];
    CHECK(expect_invalid([&] { validate_workflow(graph); }).field() == "workflow");
  }
}

TEST_CASE("a link must name a node of the workflow") {
  SECTION("the recorded link to node 99") {
    const auto error =
        expect_invalid([] { validate_workflow(fixture_json("comfyui/workflow_link_to_missing_node.json")); });
    CHECK(error.field() == "workflow.2.inputs.image");
    CHECK_THAT(error.what(), Catch::Contains("'99'") && Catch::Contains("not in the workflow"));
  }
  SECTION("an integer source naming an existing node is accepted") {
    json graph = saveimage_workflow();
    graph["2"]["inputs"]["image"] = json::array({1, 0});
    CHECK_NOTHROW(validate_workflow(graph));
    graph["2"]["inputs"]["image"] = json::array({7, 0});
    CHECK_THAT(expect_invalid([&] { validate_workflow(graph); }).what(), Catch::Contains("'7'"));
  }
  SECTION("a source that is not a node id") {
    for (const char* source : {"null", "1.5", "{}", "[\"1\"]", "true"}) {
      INFO(source);
      json graph = saveimage_workflow();
      graph["2"]["inputs"]["image"] = json::array({json::parse(source), 0});
      CHECK(expect_invalid([&] { validate_workflow(graph); }).field() == "workflow.2.inputs.image");
    }
  }
}

TEST_CASE("a link's output index is a non-negative integer") {
  for (const char* index : {"-1", "0.5", "\"0\"", "null"}) {
    INFO(index);
    json graph = saveimage_workflow();
    graph["3"]["inputs"]["images"] = json::array({"2", json::parse(index)});
    const auto error = expect_invalid([&] { validate_workflow(graph); });
    CHECK(error.field() == "workflow.3.inputs.images");
    CHECK_THAT(error.what(), Catch::Contains("non-negative integer"));
  }
  json graph = saveimage_workflow();
  graph["3"]["inputs"]["images"] = json::array({"2", 4});
  CHECK_NOTHROW(validate_workflow(graph));
}

TEST_CASE("a list input is a link of exactly two items") {
  for (const char* link : {"[]", "[\"1\"]", "[\"1\", 0, 0]"}) {
    INFO(link);
    json graph = saveimage_workflow();
    graph["2"]["inputs"]["image"] = json::parse(link);
    const auto error = expect_invalid([&] { validate_workflow(graph); });
    CHECK(error.field() == "workflow.2.inputs.image");
    CHECK_THAT(error.what(), Catch::Contains("[source node id, output index]"));
  }
}

TEST_CASE("a workflow's shape is a stable 16-digit hex key") {
  const std::string shape = workflow_shape(saveimage_workflow());
  // Pinned: shapes key stored runtime estimates, so they must not change between builds or platforms.
  CHECK(shape == "f9c873fcfd89da4e");
  CHECK(shape.size() == 16);
  CHECK(shape.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("literal values that do not set the cost do not change a workflow's shape") {
  json graph = saveimage_workflow();
  const std::string shape = workflow_shape(graph);
  graph["1"]["inputs"]["color"] = 0;
  graph["3"]["inputs"]["filename_prefix"] = "a completely different prompt/seed 42";
  CHECK(workflow_shape(graph) == shape);
}

TEST_CASE("the numbers that set a job's cost change its shape, by about 20 % steps", "[workflow]") {
  const json sampler = json::parse(R"({
    "1": {"class_type": "EmptyLatentVideo", "inputs": {"width": 768, "height": 512, "length": 97, "batch_size": 1}},
    "2": {"class_type": "KSampler", "inputs": {"latent_image": ["1", 0], "steps": 20, "seed": 7, "cfg": 3.0}}})");
  const std::string shape = workflow_shape(sampler);
  const auto with = [&](const char* node, const char* input, const json& value) {
    json changed = sampler;
    changed[node]["inputs"][input] = value;
    return workflow_shape(changed);
  };
  CHECK(with("2", "steps", 40) != shape);
  CHECK(with("1", "length", 25) != shape);
  CHECK(with("1", "width", 1280) != shape);
  CHECK(with("1", "height", 1024) != shape);
  CHECK(with("1", "batch_size", 4) != shape);
  // Close values share a bucket, and numbers that do not set the cost change nothing.
  CHECK(with("2", "steps", 21) == shape);
  CHECK(with("1", "length", 101) == shape);
  CHECK(with("2", "seed", 123456) == shape);
  CHECK(with("2", "cfg", 7.5) == shape);
}

TEST_CASE("class types and wiring change a workflow's shape") {
  const json original = saveimage_workflow();
  const std::string shape = workflow_shape(original);

  json other_class = original;
  other_class["3"]["class_type"] = "PreviewImage";
  json other_index = original;
  other_index["3"]["inputs"]["images"] = json::array({"2", 1});
  json other_source = original;
  other_source["3"]["inputs"]["images"] = json::array({"1", 0});
  json other_input_name = original;
  other_input_name["3"]["inputs"]["pixels"] = other_input_name["3"]["inputs"]["images"];
  other_input_name["3"]["inputs"].erase("images");
  json extra_node = original;
  extra_node["4"] = json::parse(R"({"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}})");
  json literal_instead_of_link = original;
  literal_instead_of_link["2"]["inputs"]["image"] = "1";

  for (const json* changed : {&other_class, &other_index, &other_source, &other_input_name, &extra_node,
                              &literal_instead_of_link}) {
    INFO(changed->dump());
    CHECK(workflow_shape(*changed) != shape);
  }
}

TEST_CASE("a workflow's shape does not depend on how its JSON was written") {
  const json reordered = json::parse(R"({
    "3": {"inputs": {"filename_prefix": "x", "images": [2, 0]}, "class_type": "SaveImage"},
    "2": {"inputs": {"image": [1, 0]}, "class_type": "ImageInvert", "_meta": {"title": "Invert"}},
    "1": {"inputs": {"height": 64, "width": 64, "batch_size": 1, "color": 0}, "class_type": "EmptyImage"}})");
  CHECK(workflow_shape(reordered) == workflow_shape(saveimage_workflow()));
}

TEST_CASE("an invalid workflow has no shape") {
  CHECK_THROWS_AS(workflow_shape(fixture_json("comfyui/workflow_ui_format.json")), comfyq::invalid_input);
  CHECK_THROWS_AS(workflow_shape(json::object()), comfyq::invalid_input);
}
