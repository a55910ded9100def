// What ComfyUI's web UI needs per tenant: its saved workflows and settings in the tenant's own
// userdata (the workshop's workflows beside them, read-only), its start-up reads, the frontend's
// static files from a configured folder, and comfyq's queue-position extension.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api_server.hpp"
#include "server/serving.hpp"
#include "support/scratch_folder.hpp"

namespace http = boost::beast::http;
using comfyq::testing::http_answer;
using comfyq::testing::running_server;
using comfyq::testing::scratch_folder;

namespace {

void write_file(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

const std::string ui_workflow = R"({"last_node_id": 2, "nodes": [], "links": [], "version": 0.4})";

}  // namespace

TEST_CASE("a tenant's ComfyUI saves, lists, reads, moves and deletes its workflows in its own userdata",
          "[server][comfyui_api][comfyui_web_ui]") {
  const scratch_folder files;
  running_server s(files.path());
  const std::string mine = "/user/alice/api/userdata/workflows%2Fmine.json";

  const http_answer saved = s.post(mine + "?overwrite=true&full_info=true", "alice", ui_workflow);
  REQUIRE(saved.status == 200);
  CHECK(saved.json().at("path") == "workflows/mine.json");
  CHECK(saved.json().at("size") == ui_workflow.size());
  CHECK(saved.json().at("modified").is_number());
  CHECK(comfyq::testing::contents(files.path() / "alice" / "userdata" / "workflows" / "mine.json") == ui_workflow);
  CHECK(s.call(http::verb::get, mine, "alice").body == ui_workflow);
  CHECK(s.post(mine + "?overwrite=false", "alice", "{}").status == 409);

  // As the web UI lists them at start-up.
  const http_answer listed = s.call(
      http::verb::get, "/user/alice/api/userdata?dir=workflows&recurse=true&split=false&full_info=true", "alice");
  REQUIRE(listed.status == 200);
  REQUIRE(listed.json().size() == 1);
  CHECK(listed.json()[0].at("path") == "mine.json");
  CHECK(s.call(http::verb::get, "/user/alice/userdata?dir=workflows", "alice").json() == nlohmann::json{"mine.json"});
  CHECK(s.call(http::verb::get, "/user/alice/userdata?dir=workflows&split=true", "alice").json() ==
        nlohmann::json::parse(R"([["mine.json", "mine.json"]])"));
  const http_answer v2 = s.call(http::verb::get, "/user/alice/api/v2/userdata?path=workflows", "alice");
  REQUIRE(v2.status == 200);
  CHECK(v2.json()[0].at("path") == "workflows/mine.json");
  CHECK(v2.json()[0].at("type") == "file");

  // Another tenant has none of it.
  CHECK(s.call(http::verb::get, "/user/bob/api/userdata/workflows%2Fmine.json", "bob").status == 404);
  CHECK(s.call(http::verb::get, "/user/bob/api/userdata?dir=workflows", "bob").status == 404);
  CHECK(s.call(http::verb::get, mine, "bob").status == 403);
  CHECK(s.call(http::verb::get, "/user/bob/api/userdata/..%2F..%2Falice%2Fuserdata%2Fworkflows%2Fmine.json", "bob")
            .status == 403);

  const http_answer moved =
      s.post("/user/alice/api/userdata/workflows%2Fmine.json/move/workflows%2Fold%2Fmine.json", "alice", "");
  REQUIRE(moved.status == 200);
  CHECK(moved.json() == "workflows/old/mine.json");
  CHECK(s.call(http::verb::get, mine, "alice").status == 404);
  CHECK(s.call(http::verb::delete_, "/user/alice/api/userdata/workflows%2Fold%2Fmine.json", "alice").status == 204);
  CHECK(s.call(http::verb::get, "/user/alice/api/userdata/workflows%2Fold%2Fmine.json", "alice").status == 404);
  CHECK(s.call(http::verb::delete_, "/user/alice/api/userdata/workflows%2Fold%2Fmine.json", "alice").status == 404);
}

TEST_CASE("a tenant's ComfyUI keeps its settings apart from another's", "[server][comfyui_api][comfyui_web_ui]") {
  const scratch_folder files;
  running_server s(files.path());
  CHECK(s.call(http::verb::get, "/user/alice/api/settings", "alice").body == "{}");
  REQUIRE(s.post("/user/alice/api/settings", "alice", R"({"Comfy.Locale": "fr", "Comfy.TextareaWidget.FontSize": 12})")
              .status == 200);
  REQUIRE(s.post("/user/alice/api/settings/Comfy.Locale", "alice", R"("de")").status == 200);
  CHECK(s.call(http::verb::get, "/user/alice/api/settings", "alice").json() ==
        nlohmann::json{{"Comfy.Locale", "de"}, {"Comfy.TextareaWidget.FontSize", 12}});
  CHECK(s.call(http::verb::get, "/user/alice/api/settings/Comfy.Locale", "alice").json() == "de");
  CHECK(s.call(http::verb::get, "/user/alice/api/settings/Unset", "alice").json().is_null());
  CHECK(nlohmann::json::parse(comfyq::testing::contents(files.path() / "alice" / "userdata" / "comfy.settings.json"))
            .at("Comfy.Locale") == "de");
  CHECK(s.call(http::verb::get, "/user/bob/api/settings", "bob").body == "{}");
  CHECK(s.post("/user/alice/api/settings", "alice", "not json").status == 400);
  CHECK(s.call(http::verb::get, "/user/alice/api/users", "alice").json() ==
        nlohmann::json{{"storage", "server"}, {"migrated", true}});
}

TEST_CASE("the workshop's workflows are in every tenant's list and templates, to open and copy, never to change",
          "[server][comfyui_api][comfyui_web_ui]") {
  const scratch_folder files;
  const scratch_folder workshop;
  write_file(workshop.path() / "intro.json", ui_workflow);
  running_server s({.files = files.path(), .workshop_workflows = workshop.path()});
  for (const std::string user : {"alice", "bob"}) {
    const std::string base = "/user/" + user + "/api/";
    const http_answer listed = s.call(http::verb::get, base + "userdata?dir=workflows&recurse=true", user);
    REQUIRE(listed.status == 200);
    CHECK(listed.json() == nlohmann::json{"workshop/intro.json"});
    CHECK(s.call(http::verb::get, base + "userdata/workflows%2Fworkshop%2Fintro.json", user).body == ui_workflow);
    CHECK(s.call(http::verb::get, base + "workflow_templates", user).json() == nlohmann::json{{"workshop", {"intro"}}});
    CHECK(s.call(http::verb::get, base + "workflow_templates/workshop/intro.json", user).body == ui_workflow);
    const nlohmann::json v2 = s.call(http::verb::get, base + "v2/userdata?path=workflows", user).json();
    REQUIRE(v2.size() == 2);
    CHECK(v2[0] == nlohmann::json{{"name", "workshop"}, {"path", "workflows/workshop"}, {"type", "directory"}});
    CHECK(v2[1].at("path") == "workflows/workshop/intro.json");
  }
  const std::string shared = "/user/alice/api/userdata/workflows%2Fworkshop%2Fintro.json";
  const http_answer changed = s.post(shared + "?overwrite=true", "alice", "{}");
  CHECK(changed.status == 403);
  CHECK(changed.json().at("error").at("code") == "read_only");
  CHECK(s.call(http::verb::delete_, shared, "alice").status == 403);
  CHECK(s.post(shared + "/move/workflows%2Fmine.json", "alice", "").status == 403);
  CHECK(comfyq::testing::contents(workshop.path() / "intro.json") == ui_workflow);
  // A copy is the tenant's own.
  REQUIRE(s.post("/user/alice/api/userdata/workflows%2Fintro%20copy.json", "alice", ui_workflow).status == 200);
  CHECK(s.call(http::verb::get, "/user/alice/api/userdata?dir=workflows&recurse=true", "alice").json() ==
        nlohmann::json{"intro copy.json", "workshop/intro.json"});
}

TEST_CASE("a tenant's ComfyUI serves the web UI's files from the configured folder, and comfyq's extension",
          "[server][comfyui_api][comfyui_web_ui]") {
  const scratch_folder frontend;
  write_file(frontend.path() / "index.html", "<!doctype html><title>ComfyUI</title>");
  write_file(frontend.path() / "assets" / "index-abc.js", "console.log('ui');");
  write_file(frontend.path() / "assets" / "favicon.ico", "ico");
  running_server s({.pages = {{"user.html", "<script src=\"../../ui/user.js\"></script>"},
                              {"comfyui_queue_position.js", "// the extension"}},
                    .comfyui_frontend = frontend.path()});
  const http_answer index = s.call(http::verb::get, "/user/alice/", "alice");
  REQUIRE(index.status == 200);
  CHECK(index.body == "<!doctype html><title>ComfyUI</title>");
  CHECK(index.headers[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(s.call(http::verb::get, "/user/alice", "alice").headers[http::field::location] == "alice/");
  const http_answer script = s.call(http::verb::get, "/user/alice/assets/index-abc.js", "alice");
  CHECK(script.body == "console.log('ui');");
  CHECK(script.headers[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(s.call(http::verb::get, "/assets/favicon.ico", "alice").body == "ico");  // some requests ignore the base
  CHECK(s.call(http::verb::get, "/user/alice/assets/missing.js", "alice").status == 404);
  CHECK(s.call(http::verb::get, "/user/alice/..%2F..%2Fetc%2Fpasswd", "alice").status == 404);
  CHECK(s.call(http::verb::get, "/user/alice/", "bob").status == 403);

  // The participant's page moves one folder down, its links with it.
  const http_answer page = s.call(http::verb::get, "/user/alice/comfyq/", "alice");
  REQUIRE(page.status == 200);
  CHECK(page.body == "<script src=\"../../../ui/user.js\"></script>");
  CHECK(s.call(http::verb::get, "/api/v1/me", "alice").json().at("comfyui_ui") == true);

  CHECK(s.call(http::verb::get, "/user/alice/api/extensions", "alice").json() ==
        nlohmann::json{"/extensions/comfyq/queue_position.js"});
  const http_answer extension = s.call(http::verb::get, "/user/alice/extensions/comfyq/queue_position.js", "alice");
  CHECK(extension.body == "// the extension");
  CHECK(extension.headers[http::field::content_type] == "text/javascript; charset=utf-8");
}

TEST_CASE("without a frontend folder, a tenant's address is its comfyq page, and the web UI's start-up reads answer",
          "[server][comfyui_api][comfyui_web_ui]") {
  running_server s({.pages = {{"user.html", "<p>your jobs</p>"}}});
  CHECK(s.call(http::verb::get, "/user/alice/", "alice").body == "<p>your jobs</p>");
  CHECK(s.call(http::verb::get, "/api/v1/me", "alice").json().at("comfyui_ui") == false);
  CHECK(s.call(http::verb::get, "/user/alice/api/extensions", "alice").json() == nlohmann::json::array());
  for (const char* path : {"i18n", "global_subgraphs", "internal/folder_paths", "workflow_templates"}) {
    INFO(path);
    const http_answer answer = s.call(http::verb::get, std::string("/user/alice/api/") + path, "alice");
    CHECK(answer.status == 200);
    CHECK(answer.json() == nlohmann::json::object());
  }
  const nlohmann::json models = s.call(http::verb::get, "/user/alice/api/experiment/models", "alice").json();
  REQUIRE(models.is_array());
  CHECK(models[0] == nlohmann::json{{"name", "checkpoints"}, {"folders", nlohmann::json::array()}});
  CHECK(s.call(http::verb::get, "/user/alice/assets/x.js", "alice").status == 404);
}
