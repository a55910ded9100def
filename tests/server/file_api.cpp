// A participant's files through the API: uploads into its own inputs, downloads of one output,
// of a job's outputs and of all its outputs as zip archives; nothing of another tenant's, and
// no path that leaves the tenant's folder.

#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/manifest.hpp"
#include "comfyq/util/sha256.hpp"
#include "server/api_server.hpp"
#include "server/zip_reading.hpp"
#include "support/read_file.hpp"
#include "support/scratch_folder.hpp"

namespace {

using comfyq::testing::refusal;
using comfyq::testing::running_server;
using comfyq::testing::scratch_folder;
namespace http = boost::beast::http;

// A server with a files folder, and what a worker would write there.
struct file_server {
  scratch_folder scratch;
  running_server s{scratch.path() / "files"};
  comfyq::comfyui::tenant_directory files{scratch.path() / "files"};

  // Submits a job as `user` and runs it to success as a worker does, with `outputs` (name →
  // bytes) written into its attempt's folder. Returns its id.
  std::string succeeded(const std::string& user, const std::map<std::string, std::string>& outputs) {
    const std::string id = s.submitted(user);
    const auto lease = s.queue.lease("w1");
    REQUIRE(lease);
    REQUIRE(lease->job_id == id);
    files.begin_attempt(user, id, lease->attempt);
    std::vector<comfyq::manifest_entry> manifest;
    for (const auto& [name, bytes] : outputs) {
      const comfyq::artifact_origin where{user, id, lease->attempt, name};
      std::ofstream(files.staging_path(where), std::ios::binary) << bytes;
      files.keep_output(where);
      manifest.push_back(comfyq::make_manifest_entry(where, {.filename = name, .subfolder = "", .type = "output", .node = "9"}, bytes));
    }
    s.queue.complete(id, lease->token, manifest);
    return id;
  }
};

using comfyq::util::sha256_hex;

TEST_CASE("a participant uploads an input, lists it, downloads it and deletes it", "[server][files]") {
  file_server f;
  const std::string cat(5000, 'c');
  const auto made = f.s.call(http::verb::put, "/api/v1/inputs/photos/cat.png", "alice", cat, "image/png");
  INFO(made.body);
  REQUIRE(made.status == 201);
  CHECK(made.json().at("path") == "photos/cat.png");
  CHECK(made.json().at("size") == cat.size());
  CHECK(made.json().at("sha256") == sha256_hex(cat));
  CHECK(comfyq::testing::read_file(f.files.inputs_of("alice") / "photos" / "cat.png") == cat);

  const nlohmann::json listed = f.s.call(http::verb::get, "/api/v1/inputs", "alice").json();
  REQUIRE(listed.at("inputs").size() == 1);
  CHECK(listed.at("inputs")[0].at("path") == "photos/cat.png");
  CHECK(listed.at("inputs")[0].at("size") == cat.size());
  CHECK(f.s.call(http::verb::get, "/api/v1/inputs", "bob").json().at("inputs").empty());

  const auto downloaded = f.s.call(http::verb::get, "/api/v1/inputs/photos/cat.png", "alice");
  CHECK(downloaded.status == 200);
  CHECK(downloaded.body == cat);

  const std::string dog(10, 'd');
  CHECK(f.s.call(http::verb::put, "/api/v1/inputs/photos/cat.png", "alice", dog, "image/png").status == 200);
  CHECK(f.s.call(http::verb::get, "/api/v1/inputs/photos/cat.png", "alice").body == dog);

  CHECK(f.s.call(http::verb::delete_, "/api/v1/inputs/photos/cat.png", "alice").status == 200);
  CHECK(refusal(f.s.call(http::verb::get, "/api/v1/inputs/photos/cat.png", "alice"), 404).at("field") == "path");
  CHECK(refusal(f.s.call(http::verb::delete_, "/api/v1/inputs/photos/cat.png", "alice"), 404).at("field") == "path");
}

TEST_CASE("another tenant's inputs are not there for a participant", "[server][files]") {
  file_server f;
  REQUIRE(f.s.call(http::verb::put, "/api/v1/inputs/cat.png", "alice", "meow", "image/png").status == 201);
  CHECK(refusal(f.s.call(http::verb::get, "/api/v1/inputs/cat.png", "bob"), 404).at("code") == "not_found");
  CHECK(refusal(f.s.call(http::verb::delete_, "/api/v1/inputs/cat.png", "bob"), 404).at("code") == "not_found");
  // bob's upload of the same name is his own file
  REQUIRE(f.s.call(http::verb::put, "/api/v1/inputs/cat.png", "bob", "woof", "image/png").status == 201);
  CHECK(f.s.call(http::verb::get, "/api/v1/inputs/cat.png", "alice").body == "meow");
}

TEST_CASE("a path that would leave the tenant's inputs is refused and writes nothing", "[server][files]") {
  file_server f;
  const std::string overlong_name(300, 'x');
  const std::string overlong_path = [] {
    std::string path;
    for (int i = 0; i < 120; ++i) path += "folder" + std::to_string(i) + "/";
    return path + "x.png";
  }();
  for (const std::string& path : {std::string("..%2F..%2Fbob%2Finputs%2Fcat.png"), std::string("a/../../bob/cat.png"),
                                   std::string("%2Fetc%2Fpasswd"), std::string("cat%00.png"), std::string("a%5C..%5Cb"),
                                   std::string("./cat.png"), overlong_name, overlong_path}) {
    INFO(path);
    for (const http::verb verb : {http::verb::put, http::verb::get, http::verb::delete_}) {
      const nlohmann::json error = refusal(f.s.call(verb, "/api/v1/inputs/" + path, "alice", "bytes", "image/png"), 422);
      CHECK(error.at("field") == "path");
      CHECK(error.at("code") == "invalid_input");
    }
  }
  CHECK_FALSE(std::filesystem::exists(f.files.inputs_of("alice")));
  CHECK_FALSE(std::filesystem::exists(f.files.root() / "bob"));
}

TEST_CASE("a succeeded job's outputs download one by one and as a zip archive", "[server][files]") {
  file_server f;
  const std::string image(70000, 'i');  // more than one chunk
  const std::string video(100, 'v');
  const std::string id = f.succeeded("alice", {{"out_00001_.png", image}, {"clips/out_00001_.mp4", video}});

  const auto one = f.s.call(http::verb::get, "/api/v1/jobs/" + id + "/outputs/out_00001_.png", "alice");
  REQUIRE(one.status == 200);
  CHECK(one.body == image);
  CHECK(one.headers[http::field::content_type] == "image/png");
  CHECK(one.headers[http::field::content_disposition] == "attachment; filename=\"out_00001_.png\"");
  CHECK(f.s.call(http::verb::get, "/api/v1/jobs/" + id + "/outputs/clips/out_00001_.mp4", "alice").body == video);
  CHECK(f.s.call(http::verb::get, "/api/v1/jobs/" + id + "/outputs/out_00001_.png", "admin").body == image);
  CHECK(refusal(f.s.call(http::verb::get, "/api/v1/jobs/" + id + "/outputs/nothing.png", "alice"), 404).at("field") ==
        "name");

  const auto zip = f.s.call(http::verb::get, "/api/v1/jobs/" + id + "/outputs.zip", "alice");
  REQUIRE(zip.status == 200);
  CHECK(zip.headers[http::field::content_type] == "application/zip");
  CHECK(comfyq::testing::unzipped(zip.body, f.scratch.path()) ==
        std::map<std::string, std::string>{{"out_00001_.png", sha256_hex(image)}, {"clips/out_00001_.mp4", sha256_hex(video)}});
}

TEST_CASE("all of a tenant's outputs download as one zip archive, a folder per job", "[server][files]") {
  file_server f;
  const std::string first = f.succeeded("alice", {{"a.png", "first"}});
  const std::string second = f.succeeded("alice", {{"a.png", "second"}, {"b.png", ""}});
  const std::string bobs = f.succeeded("bob", {{"a.png", "bob's"}});
  f.s.submitted("alice");  // queued: no outputs yet

  const std::map<std::string, std::string> alices{
      {first + "/a.png", sha256_hex("first")}, {second + "/a.png", sha256_hex("second")}, {second + "/b.png", sha256_hex("")}};
  const auto mine = f.s.call(http::verb::get, "/api/v1/outputs.zip", "alice");
  REQUIRE(mine.status == 200);
  CHECK(comfyq::testing::unzipped(mine.body, f.scratch.path()) == alices);

  const auto as_admin = f.s.call(http::verb::get, "/api/v1/outputs.zip?tenant=alice", "admin");
  CHECK(comfyq::testing::unzipped(as_admin.body, f.scratch.path()) == alices);
  CHECK(refusal(f.s.call(http::verb::get, "/api/v1/outputs.zip?tenant=alice", "bob"), 403).at("field") == "tenant");
  CHECK(comfyq::testing::unzipped(f.s.call(http::verb::get, "/api/v1/outputs.zip", "carol").body, f.scratch.path())
            .empty());
  CHECK(comfyq::testing::unzipped(f.s.call(http::verb::get, "/api/v1/outputs.zip", "bob").body, f.scratch.path()) ==
        std::map<std::string, std::string>{{bobs + "/a.png", sha256_hex("bob's")}});
}

TEST_CASE("another tenant's job's outputs answer 404, an unfinished job's 409", "[server][files]") {
  file_server f;
  const std::string id = f.succeeded("alice", {{"a.png", "mine"}});
  for (const std::string& target : {"/api/v1/jobs/" + id + "/outputs/a.png", "/api/v1/jobs/" + id + "/outputs.zip"}) {
    INFO(target);
    CHECK(refusal(f.s.call(http::verb::get, target, "bob"), 404).at("field") == "id");
    CHECK(f.s.call(http::verb::get, target, "alice").status == 200);
  }
  const std::string queued = f.s.submitted("alice");
  CHECK(refusal(f.s.call(http::verb::get, "/api/v1/jobs/" + queued + "/outputs.zip", "alice"), 409).at("code") ==
        "conflict");
  CHECK(refusal(f.s.call(http::verb::get, "/api/v1/jobs/nonexistent/outputs.zip", "alice"), 404).at("field") == "id");
}

TEST_CASE("an output the manifest lists but this server does not hold answers 404 and says why", "[server][files]") {
  file_server f;
  const std::string id = f.succeeded("alice", {{"a.png", "made elsewhere"}});
  std::filesystem::remove_all(f.scratch.path() / "files" / "alice" / "outputs");
  const nlohmann::json error = refusal(f.s.call(http::verb::get, "/api/v1/jobs/" + id + "/outputs/a.png", "alice"), 404);
  CHECK(error.at("message").get<std::string>().find("not on this server") != std::string::npos);
}

TEST_CASE("without a files folder the file routes say the server keeps no files", "[server][files]") {
  running_server s;
  CHECK(refusal(s.call(http::verb::get, "/api/v1/inputs", "alice"), 503).at("code") == "unavailable");
  CHECK(refusal(s.call(http::verb::put, "/api/v1/inputs/cat.png", "alice", "x", "image/png"), 503).at("code") ==
        "unavailable");
}

}  // namespace
