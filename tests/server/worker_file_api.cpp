// The files of workers on other machines: only the worker token opens their routes, an output
// is kept whole with the sha256 its worker sent or not at all, a manifest only over the files
// it lists, and only the attempt the job runs now may write.

#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "comfyq/comfyui/tenant_files.hpp"
#include "comfyq/json.hpp"
#include "comfyq/util/sha256.hpp"
#include "server/api_server.hpp"
#include "support/read_file.hpp"
#include "support/scratch_folder.hpp"

namespace {

using comfyq::testing::http_answer;
using comfyq::testing::refusal;
using comfyq::testing::running_server;
using comfyq::testing::scratch_folder;
namespace http = boost::beast::http;

const std::string token = "0123456789abcdef0123456789abcdef";

// A server with a files folder and a worker token, and a job leased as a remote worker's.
struct worker_files {
  scratch_folder scratch;
  running_server s{scratch.path() / "files", token};
  comfyq::comfyui::tenant_directory files{scratch.path() / "files"};

  http_answer call(http::verb method, const std::string& target, const std::string& body = {},
                   std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + token}}) {
    if (!body.empty() && method == http::verb::put && target.ends_with("/manifest")) {
      headers.emplace_back("Content-Type", "application/json");
    }
    return comfyq::testing::http_call(s.web.port(), method, target, headers, body);
  }
  http_answer put_file(const std::string& attempt, const std::string& name, const std::string& bytes,
                       const std::string& sha256) {
    return call(http::verb::put, attempt + "/files/" + name, bytes,
                {{"Authorization", "Bearer " + token}, {"X-Content-SHA256", sha256}});
  }

  // Submits a job of alice's and leases it: the route of its first attempt's outputs.
  std::string leased() {
    id = s.submitted("alice");
    lease = s.queue.lease("remote-gpu");
    REQUIRE(lease);
    return "/api/v1/worker/outputs/alice/" + id + "/" + std::to_string(lease->attempt);
  }

  std::string id;
  std::optional<comfyq::lease> lease;
};

using comfyq::util::sha256_hex;

std::string manifest_of(const std::string& name, const std::string& bytes) {
  const comfyq::manifest_entry entry{.name = name, .size = bytes.size(), .sha256 = sha256_hex(bytes), .media_type = "image/png",
                                     .node = "9"};
  return nlohmann::json{{"outputs", nlohmann::json::array({entry})}}.dump();
}

}  // namespace

TEST_CASE("a remote worker begins an attempt, sends its outputs and manifest, and the participant downloads them", "[server][files][worker_files]") {
  worker_files f;
  const std::string attempt = f.leased();
  const std::string image(3000, 'i');

  CHECK(f.call(http::verb::post, attempt).status == 201);
  const http_answer sent = f.put_file(attempt, "shots/out.png", image, sha256_hex(image));
  INFO(sent.body);
  REQUIRE(sent.status == 201);
  CHECK(sent.json().at("sha256") == sha256_hex(image));
  const http_answer manifest = f.call(http::verb::put, attempt + "/manifest", manifest_of("shots/out.png", image));
  INFO(manifest.body);
  REQUIRE(manifest.status == 200);

  const auto folder = f.files.outputs_of("alice", f.id, f.lease->attempt);
  CHECK(comfyq::testing::read_file(folder / "shots" / "out.png") == image);
  const nlohmann::json kept = nlohmann::json::parse(comfyq::testing::read_file(folder / "manifest.json"));
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].at("sha256") == sha256_hex(image));

  const comfyq::manifest_entry entry{.name = "shots/out.png", .size = image.size(), .sha256 = sha256_hex(image)};
  f.s.queue.complete(f.id, f.lease->token, {entry});
  const http_answer downloaded = f.s.call(http::verb::get, "/api/v1/jobs/" + f.id + "/outputs/shots/out.png", "alice");
  CHECK(downloaded.status == 200);
  CHECK(downloaded.body == image);
}

TEST_CASE("worker routes take only the worker token, and the token opens no user route", "[server][files][worker_files]") {
  worker_files f;
  const std::filesystem::path input = f.files.inputs_of("alice") / "cat.png";
  std::filesystem::create_directories(input.parent_path());
  std::ofstream(input, std::ios::binary) << "meow";
  const std::string route = "/api/v1/worker/inputs/alice/cat.png";

  CHECK(f.call(http::verb::get, route).body == "meow");
  const nlohmann::json missing = refusal(f.call(http::verb::get, route, {}, {}), 401);
  CHECK_THAT(missing.at("message").get<std::string>(), Catch::Contains("--files-token"));
  CHECK(refusal(f.call(http::verb::get, route, {}, {{"Authorization", "Bearer " + token + "x"}}), 401).at("code") ==
        "unauthorized");
  CHECK(refusal(f.call(http::verb::get, route, {}, {{"Authorization", token}}), 401).at("code") == "unauthorized");
  // A user, even the admin, is no worker.
  CHECK(refusal(f.s.call(http::verb::get, route, "admin"), 401).at("code") == "unauthorized");
  CHECK(refusal(f.call(http::verb::get, route, {}, {{"Authorization", comfyq::testing::basic("alice", "pw")}}), 401)
            .at("code") == "unauthorized");
  // And a worker is no user.
  CHECK(f.call(http::verb::get, "/api/v1/inputs/cat.png").status == 401);
  CHECK(f.call(http::verb::get, "/api/v1/jobs").status == 401);

  CHECK(refusal(f.call(http::verb::get, "/api/v1/worker/inputs/alice/dog.png"), 404).at("field") == "path");
  CHECK(refusal(f.call(http::verb::get, "/api/v1/worker/inputs/bob/cat.png"), 404).at("field") == "path");
}

TEST_CASE("a server without a worker token takes no remote worker and says so", "[server][files][worker_files]") {
  scratch_folder scratch;
  running_server s(scratch.path() / "files");
  const auto answer = comfyq::testing::http_call(s.web.port(), http::verb::get, "/api/v1/worker/inputs/alice/cat.png",
                                                 {{"Authorization", "Bearer "}});
  CHECK_THAT(refusal(answer, 401).at("message").get<std::string>(), Catch::Contains("no worker token"));
}

TEST_CASE("an output whose body does not match its sha256 is refused and leaves nothing", "[server][files][worker_files]") {
  worker_files f;
  const std::string attempt = f.leased();
  REQUIRE(f.call(http::verb::post, attempt).status == 201);
  const std::string image(2000, 'x');

  CHECK(refusal(f.put_file(attempt, "out.png", image, sha256_hex(image + "cut")), 422).at("field") == "sha256");
  CHECK(refusal(f.call(http::verb::put, attempt + "/files/out.png", image), 422).at("field") == "sha256");
  const auto folder = f.files.outputs_of("alice", f.id, f.lease->attempt);
  CHECK(std::filesystem::is_empty(folder));
  const auto partial = f.files.root() / "alice" / ".partial";
  CHECK((!std::filesystem::exists(partial) || std::filesystem::is_empty(partial)));
}

TEST_CASE("a manifest is kept only when every file it lists is there as it says", "[server][files][worker_files]") {
  worker_files f;
  const std::string attempt = f.leased();
  REQUIRE(f.call(http::verb::post, attempt).status == 201);
  const std::string image(100, 'p');
  REQUIRE(f.put_file(attempt, "out.png", image, sha256_hex(image)).status == 201);

  CHECK(refusal(f.call(http::verb::put, attempt + "/manifest", manifest_of("other.png", image)), 422).at("field") ==
        "outputs[0].size");
  CHECK(refusal(f.call(http::verb::put, attempt + "/manifest", manifest_of("out.png", image + "x")), 422).at("field") ==
        "outputs[0].size");
  CHECK(refusal(f.call(http::verb::put, attempt + "/manifest", manifest_of("out.png", std::string(100, 'q'))), 422)
            .at("field") == "outputs[0].sha256");
  CHECK(refusal(f.call(http::verb::put, attempt + "/manifest", manifest_of("../out.png", image)), 422).at("field") ==
        "outputs[0].name");
  CHECK_FALSE(std::filesystem::exists(f.files.outputs_of("alice", f.id, f.lease->attempt) / "manifest.json"));
  CHECK(f.call(http::verb::put, attempt + "/manifest", manifest_of("out.png", image)).status == 200);
}

TEST_CASE("only the attempt the job runs now may write, and an attempt is begun once", "[server][files][worker_files]") {
  worker_files f;
  const std::string attempt = f.leased();
  REQUIRE(f.call(http::verb::post, attempt).status == 201);
  CHECK(refusal(f.call(http::verb::post, attempt), 409).at("code") == "exists");

  const std::string image(10, 'z');
  const std::string earlier = "/api/v1/worker/outputs/alice/" + f.id + "/" + std::to_string(f.lease->attempt + 1);
  const nlohmann::json not_running = refusal(f.call(http::verb::post, earlier), 409);
  CHECK(not_running.at("code") == "conflict");
  CHECK_THAT(not_running.at("message").get<std::string>(), Catch::Contains("another worker owns the job now"));
  CHECK(refusal(f.put_file(earlier, "out.png", image, sha256_hex(image)), 409).at("code") == "conflict");

  // Another tenant's job, or one that does not exist, is not there for this tenant.
  CHECK(refusal(f.call(http::verb::post, "/api/v1/worker/outputs/bob/" + f.id + "/1"), 404).at("field") == "job");
  CHECK(refusal(f.call(http::verb::post, "/api/v1/worker/outputs/alice/nope/1"), 404).at("field") == "job");

  // Once the job is given back, its attempt writes nothing more.
  f.s.queue.release(f.id, f.lease->token);
  CHECK(refusal(f.put_file(attempt, "out.png", image, sha256_hex(image)), 409).at("code") == "conflict");
  CHECK(refusal(f.call(http::verb::put, attempt + "/manifest", manifest_of("out.png", image)), 409).at("code") ==
        "conflict");
  CHECK(std::filesystem::is_empty(f.files.outputs_of("alice", f.id, f.lease->attempt)));
}

TEST_CASE("a path or an attempt that would leave the attempt's folder is refused", "[server][files][worker_files]") {
  worker_files f;
  const std::string attempt = f.leased();
  REQUIRE(f.call(http::verb::post, attempt).status == 201);
  const std::string image(10, 'z');
  for (const std::string& name : {std::string("..%2F..%2Fescape.png"), std::string("a/%2E%2E/b.png"),
                                  std::string("bad%5Cname.png"), std::string("nul%00.png")}) {
    INFO(name);
    CHECK(refusal(f.put_file(attempt, name, image, sha256_hex(image)), 422).at("field") == "name");
  }
  CHECK(refusal(f.call(http::verb::get, "/api/v1/worker/inputs/alice/%2E%2E/x"), 422).at("field") == "path");
  CHECK(refusal(f.call(http::verb::get, "/api/v1/worker/inputs/%2E%2E/x"), 422).at("field") == "tenant");
  CHECK(refusal(f.call(http::verb::post, "/api/v1/worker/outputs/alice/" + f.id + "/0"), 422).at("field") == "attempt");
  CHECK(refusal(f.call(http::verb::post, "/api/v1/worker/outputs/alice/" + f.id + "/1x"), 422).at("field") == "attempt");
  CHECK(refusal(f.call(http::verb::post, "/api/v1/worker/outputs/alice/%2E%2E/1"), 422).at("field") == "job");
}

TEST_CASE("an attempt is discarded unless a succeeded job kept its outputs", "[server][files][worker_files]") {
  worker_files f;
  const std::string attempt = f.leased();
  REQUIRE(f.call(http::verb::post, attempt).status == 201);
  const std::string image(10, 'z');
  REQUIRE(f.put_file(attempt, "out.png", image, sha256_hex(image)).status == 201);

  f.s.queue.complete(f.id, f.lease->token, {{.name = "out.png", .size = image.size(), .sha256 = sha256_hex(image)}});
  CHECK(refusal(f.call(http::verb::delete_, attempt), 409).at("field") == "attempt");
  CHECK(std::filesystem::exists(f.files.outputs_of("alice", f.id, f.lease->attempt) / "out.png"));

  const std::string other = "/api/v1/worker/outputs/alice/" + f.id + "/" + std::to_string(f.lease->attempt + 1);
  std::filesystem::create_directories(f.files.outputs_of("alice", f.id, f.lease->attempt + 1));
  CHECK(f.call(http::verb::delete_, other).status == 200);
  CHECK_FALSE(std::filesystem::exists(f.files.outputs_of("alice", f.id, f.lease->attempt + 1)));
}
