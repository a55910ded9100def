// What ComfyUI's answers to POST /prompt mean for a job, for every answer recorded: accepted,
// rejected for good (400 node_errors, and a 200 that silently dropped outputs), or retryable (5xx).
#include <catch2/catch.hpp>

#include <string>

#include "comfyq/comfyui/prompt.hpp"
#include "support/comfyui_recordings.hpp"
#include "support/expect_error.hpp"

using comfyq::comfyui::prompt_answer;
using comfyq::comfyui::prompt_outcome;
using comfyq::comfyui::read_prompt_answer;

namespace {

// The recorded answer to the POST /prompt labelled `label` in post_prompt_errors.jsonl.
prompt_answer recorded_answer(std::string_view label) {
  for (const nlohmann::json& e : comfyq::testing::load_transcript("post_prompt_errors.jsonl")) {
    if (e.value("dir", "") != "http" || e["request"].value("label", "") != label) continue;
    const nlohmann::json& response = e["response"];
    const bool json = response.contains("json") && response["json"].is_object();
    const std::string body = json ? response["json"].dump() : response.value("text", "");
    const std::string prompt_id = json ? response["json"].value("prompt_id", "") : "";
    return read_prompt_answer(response["status"].get<unsigned>(), body, prompt_id);
  }
  throw std::runtime_error("no recorded POST /prompt labelled " + std::string(label));
}

}  // namespace

TEST_CASE("the body of POST /prompt carries the graph under the worker's prompt and client ids", "[comfyui][prompt]") {
  const nlohmann::json graph = {{"3", {{"class_type", "SaveImage"}, {"inputs", {{"filename_prefix", "x"}}}}}};
  const nlohmann::json body = comfyq::comfyui::prompt_request(graph, "j42", "worker-gpu0");
  CHECK(body == nlohmann::json{{"prompt", graph}, {"prompt_id", "j42"}, {"client_id", "worker-gpu0"}});
}

TEST_CASE("an accepted prompt gives its queue number", "[comfyui][prompt]") {
  for (const nlohmann::json& e :
       comfyq::testing::http_exchanges(comfyq::testing::load_transcript("ws_visibility_multi_client.jsonl"), "/prompt")) {
    const nlohmann::json& answer = e["response"]["json"];
    const prompt_answer a = read_prompt_answer(200, answer.dump(), answer["prompt_id"].get<std::string>());
    CHECK(a.outcome == prompt_outcome::accepted);
    CHECK(a.number == answer["number"].get<std::uint64_t>());
    CHECK(a.reason.empty());
  }
}

TEST_CASE("every recorded 400 is a rejection that keeps ComfyUI's error shape and says what is wrong",
          "[comfyui][prompt]") {
  const prompt_answer missing = recorded_answer("missing required input (ImageInvert.image)");
  CHECK(missing.outcome == prompt_outcome::rejected);
  CHECK(missing.reason ==
        "ComfyUI rejected the workflow: Prompt outputs failed validation: node 2 (ImageInvert): Required input is "
        "missing: image");
  CHECK(missing.details["error"]["type"] == "prompt_outputs_failed_validation");
  CHECK(missing.details["node_errors"]["2"]["errors"][0]["type"] == "required_input_missing");

  const prompt_answer unknown = recorded_answer("unknown class_type");
  CHECK(unknown.outcome == prompt_outcome::rejected);
  CHECK(unknown.reason ==
        "ComfyUI rejected the workflow: Cannot execute because node NoSuchNodeType does not exist. (Node ID '#2')");
  CHECK(unknown.details["node_errors"].empty());

  CHECK_THAT(recorded_answer("value above max (EmptyImage.width)").reason,
             Catch::Matchers::EndsWith("node 1 (EmptyImage): Value 999999 bigger than max of 16384: width"));
  for (const char* label : {"node without class_type", "no output node", "value not convertible to INT",
                            "link to non-existent node", "link to non-existent output slot",
                            "type mismatch LATENT -> IMAGE", "no prompt key", "empty prompt object"}) {
    INFO(label);
    const prompt_answer a = recorded_answer(label);
    CHECK(a.outcome == prompt_outcome::rejected);
    CHECK_THAT(a.reason, Catch::Matchers::StartsWith("ComfyUI rejected the workflow: "));
    CHECK(a.details.contains("error"));
  }
}

TEST_CASE("a 200 that dropped invalid outputs is a rejection, not a partial success", "[comfyui][prompt]") {
  const prompt_answer partial = recorded_answer("two outputs, one invalid (LoadImage missing file) -> partial accept");
  CHECK(partial.outcome == prompt_outcome::rejected);
  CHECK(partial.number == 13);
  CHECK(partial.reason ==
        "ComfyUI dropped output nodes that failed validation (node 4 (LoadImage): Custom validation failed for node: "
        "image - Invalid image file: does_not_exist.png); fix them and submit again");
  CHECK(partial.details["node_errors"]["4"]["class_type"] == "LoadImage");
}

TEST_CASE("a 5xx means try again later", "[comfyui][prompt]") {
  const prompt_answer a = recorded_answer("invalid JSON body");
  CHECK(a.outcome == prompt_outcome::retryable);
  CHECK(a.reason == "ComfyUI answered POST /prompt with 500 (it is in trouble); retry later");
}

TEST_CASE("an answer no ComfyUI gives is a protocol error", "[comfyui][prompt]") {
  using comfyq::comfyui_protocol_error;
  using comfyq::test::expect_error;
  const auto refused = [](unsigned status, const char* body) {
    return expect_error<comfyui_protocol_error>([&] { read_prompt_answer(status, body, "j1"); });
  };
  CHECK(refused(200, R"({"prompt_id":"j2","number":1,"node_errors":{}})").field() == "prompt.answer");
  CHECK(refused(200, R"({"prompt_id":"j1","node_errors":{}})").field() == "prompt.answer");
  CHECK(refused(200, "<html>").field() == "prompt.answer");
  CHECK(refused(400, R"({"node_errors":{}})").field() == "prompt.answer");
  CHECK_THAT(refused(404, "{}").what(), Catch::Matchers::Contains("answered 404"));
}
