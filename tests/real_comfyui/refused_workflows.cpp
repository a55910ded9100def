// Workflows that cannot run: a UI-format workflow (what ComfyUI's web UI saves) is refused by
// comfyq before it reaches ComfyUI; one with a node class ComfyUI lacks fails with ComfyUI's own
// validation reason. Both are final: running them again would end the same way.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comfyq/errors.hpp"
#include "real_comfyui/in_process_fixture.hpp"
#include "real_comfyui/workflows.hpp"

namespace {

using comfyq::job_state;
namespace real = comfyq::testing::real;

// The progress events in which the worker published ComfyUI's answer to a refused prompt.
std::vector<nlohmann::json> rejections(real::in_process_fixture& f, const std::string& id) {
  std::vector<nlohmann::json> found;
  for (const comfyq::event& e : f.events_of(id)) {
    if (e.type == comfyq::event_type::progress && e.data.contains("comfyui_rejection")) {
      found.push_back(e.data.at("comfyui_rejection"));
    }
  }
  return found;
}

}  // namespace

TEST_CASE("a UI-format workflow is refused with a clear error and never reaches ComfyUI", "[real_comfyui][in_process]") {
  real::in_process_fixture f("ui-format");
  // ComfyUI logs "got prompt" for every POST /prompt, valid or not.
  const std::size_t prompts_before = f.comfyui.log_lines_with("got prompt");
  const std::string reason_wanted = "UI-format";

  std::string id;
  try {
    id = f.submit(real::ui_format_workflow("from-the-ui"));
  } catch (const comfyq::invalid_input& refused) {  // refused at the door: as good
    CHECK_THAT(refused.what(), Catch::Contains(reason_wanted) && Catch::Contains("Export (API)"));
  }
  if (!id.empty()) {
    const comfyq::job done = f.wait_until_finished(id);
    INFO("reason: " << done.reason << "; worker log " << (f.folder / "worker.log"));
    CHECK(done.state == job_state::failed);
    CHECK(done.attempt == 1);
    CHECK_THAT(done.reason, Catch::Contains(reason_wanted) && Catch::Contains("Export (API)"));
    CHECK(rejections(f, id).empty());
    CHECK(real::history_of(f.comfyui, id).is_null());
    CHECK(f.comfyui.outputs_of(f.tenant, id).empty());
  }
  CHECK(f.comfyui.log_lines_with("got prompt") == prompts_before);
  CHECK(real::read_queue(f.comfyui).empty());
}

TEST_CASE("a workflow with a node class ComfyUI lacks fails with ComfyUI's reason, and is not retried",
          "[real_comfyui][in_process]") {
  real::in_process_fixture f("unknown-node");
  const std::string id = f.submit(real::unknown_node_graph("never"));
  const comfyq::job done = f.wait_until_finished(id);
  INFO("reason: " << done.reason << "; worker log " << (f.folder / "worker.log"));
  CHECK(done.state == job_state::failed);
  CHECK(done.attempt == 1);
  CHECK(done.failures == 0);
  CHECK_THAT(done.reason, Catch::Contains("NoSuchNode"));

  // ComfyUI's own answer is in the job's events, as ComfyUI gave it.
  const std::vector<nlohmann::json> answers = rejections(f, id);
  REQUIRE(answers.size() == 1);
  INFO("ComfyUI's answer: " << answers.front().dump());
  CHECK(answers.front().at("error").at("type") == "invalid_prompt");
  CHECK_THAT(answers.front().at("error").at("message").get<std::string>(),
             Catch::Contains("Cannot execute because node NoSuchNode does not exist"));
  CHECK(f.comfyui.outputs_of(f.tenant, id).empty());
}
