// comfyq-server behind a real nginx with the site `comfyq-server nginx-config` prints, as a
// workshop runs it: participants log in with their passwords at nginx, submit, follow their
// events, upload and download files, and reach nothing of one another's; the admin API is the
// admin's alone. The server runs its demo backend, so jobs really run.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server/nginx_prefix.hpp"
#include "server/running_nginx.hpp"
#include "server/serving.hpp"
#include "server/zip_reading.hpp"
#include "support/child_process.hpp"
#include "support/program_run.hpp"
#include "support/scratch_folder.hpp"

using comfyq::testing::child_process;
using comfyq::testing::curl_answer;
using comfyq::testing::nginx_prefix;
using comfyq::testing::running_nginx;

namespace {

// The server on the embedded memory store with the demo backend, trusting nginx on loopback
// to name the user, and nginx in front of it.
struct workshop_site {
  nginx_prefix prefix;
  std::filesystem::path data = prefix.path("data");
  child_process server{COMFYQ_SERVER_EXECUTABLE,
                       {"serve", "--demo", "--store", "memory", "--listen", "127.0.0.1:0", "--data", data.string(),
                        "--auth", "header", "--trusted-proxies", "127.0.0.1"},
                       prefix.path("server.log")};
  running_nginx nginx{prefix, comfyq::testing::listening_port(server)};

  std::string login(const std::string& user) const {
    return user + ":" + comfyq::testing::password_of(data / "credentials.txt", user);
  }

  curl_answer as(const std::string& user, const std::string& path, std::vector<std::string> more = {}) const {
    more.insert(more.end(), {"--user", login(user)});
    return nginx.curl(path, std::move(more));
  }

  std::string submit(const std::string& user) const {
    const curl_answer made =
        as(user, "/api/v1/jobs", {"--header", "Content-Type: application/json", "--data-binary",
                                  nlohmann::json{{"workflow", comfyq::testing::txt2img()}}.dump()});
    INFO(made.body << made.errors);
    REQUIRE(made.status == 201);
    return nlohmann::json::parse(made.body).at("id");
  }

  nlohmann::json finished(const std::string& user, const std::string& id) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    nlohmann::json job;
    do {
      const curl_answer answer = as(user, "/api/v1/jobs/" + id);
      REQUIRE(answer.status == 200);
      job = nlohmann::json::parse(answer.body);
      if (job.at("state") != "queued" && job.at("state") != "running") return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (std::chrono::steady_clock::now() < deadline);
    FAIL("job " << id << " did not finish in 60 s: " << job.dump());
    return job;
  }
};

TEST_CASE("through nginx, participants submit, follow their events, and download their outputs", "[server][nginx_proxy]") {
  const workshop_site site;
  INFO("the server's log: " << comfyq::testing::contents(site.prefix.path("server.log")));

  // user01 follows its events through nginx while its job runs.
  const std::string events_file = site.prefix.path("user01-events.txt");
  child_process events(comfyq::testing::curl_program(),
                       {"--silent", "--insecure", "--no-buffer", "--max-time", "60", "--user", site.login("user01"),
                        "--output", events_file, site.nginx.url("/api/v1/events")});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // connected before the job is submitted

  const std::string mine = site.submit("user01");
  const std::string theirs = site.submit("user02");
  const nlohmann::json done = site.finished("user01", mine);
  REQUIRE(done.at("state") == "succeeded");
  REQUIRE(site.finished("user02", theirs).at("state") == "succeeded");

  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (seen.find("event: succeeded") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = comfyq::testing::contents(events_file);
  }
  INFO(seen);
  CHECK(seen.find("event: submitted") != std::string::npos);
  CHECK(seen.find("event: succeeded") != std::string::npos);
  CHECK(seen.find(mine) != std::string::npos);
  CHECK(seen.find(theirs) == std::string::npos);

  // Its outputs, one and all, through nginx.
  const std::string name = done.at("outputs")[0].at("name");
  const curl_answer one = site.as("user01", "/api/v1/jobs/" + mine + "/outputs/" + name);
  CHECK(one.status == 200);
  CHECK(one.body.starts_with("\x89PNG"));
  const curl_answer zip = site.as("user01", "/api/v1/jobs/" + mine + "/outputs.zip");
  REQUIRE(zip.status == 200);
  const comfyq::testing::scratch_folder scratch;
  CHECK(comfyq::testing::unzipped(zip.body, scratch.path()).count(name) == 1);

  // Nothing of another participant's, whatever the route.
  for (const std::string& path : {"/api/v1/jobs/" + theirs, "/api/v1/jobs/" + theirs + "/outputs.zip",
                                  "/api/v1/jobs/" + theirs + "/outputs/" + name}) {
    INFO(path);
    CHECK(site.as("user01", path).status == 404);
  }
  const nlohmann::json listed = nlohmann::json::parse(site.as("user01", "/api/v1/jobs").body);
  REQUIRE(listed.at("jobs").size() == 1);
  CHECK(listed.at("jobs")[0].at("id") == mine);
}

TEST_CASE("through nginx, an unmodified ComfyUI client gets its image from a participant's ComfyUI",
          "[server][nginx_proxy][comfyui_api]") {
  const workshop_site site;
  INFO("the server's log: " << comfyq::testing::contents(site.prefix.path("server.log")));
  const comfyq::testing::scratch_folder out;
  // The client as a participant runs it: its base is the participant's ComfyUI, its password
  // the participant's, checked by nginx.
  const auto client = [&](const std::string& user, const std::string& base) {
    return comfyq::testing::run_program(
        "/usr/bin/python3", {COMFYQ_EXAMPLE_CLIENT, "--server", site.nginx.url(base), "--user", user, "--password",
                             comfyq::testing::password_of(site.data / "credentials.txt", user), "--insecure",
                             COMFYQ_EXAMPLE_WORKFLOWS "/txt2img.json", "--out", out.path().string()});
  };
  const comfyq::testing::program_result run = client("user01", "/user/user01/");
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  std::vector<std::filesystem::path> images;
  for (const auto& entry : std::filesystem::directory_iterator(out.path())) images.push_back(entry.path());
  REQUIRE(images.size() == 1);
  CHECK(comfyq::testing::contents(images[0]).starts_with("\x89PNG"));
  CHECK(run.out.find(images[0].filename().string()) != std::string::npos);

  // Another participant's ComfyUI is not this one's.
  const comfyq::testing::program_result intruder = client("user02", "/user/user01/");
  CHECK(intruder.exit_code != 0);
  CHECK(intruder.err.find("403") != std::string::npos);
}

TEST_CASE("through nginx, uploads land in the participant's own inputs", "[server][nginx_proxy]") {
  const workshop_site site;
  const std::string image(300000, 'x');
  const std::filesystem::path file = site.prefix.path("cat.png");
  std::ofstream(file, std::ios::binary) << image;
  const curl_answer uploaded =
      site.as("user01", "/api/v1/inputs/photos/cat.png", {"--upload-file", file.string(), "--header", "Content-Type: image/png"});
  INFO(uploaded.body << uploaded.errors);
  CHECK(uploaded.status == 201);
  CHECK(comfyq::testing::contents(site.data / "files" / "user01" / "inputs" / "photos" / "cat.png") == image);
  CHECK(site.as("user01", "/api/v1/inputs/photos/cat.png").body == image);
  CHECK(site.as("user02", "/api/v1/inputs/photos/cat.png").status == 404);
  // climbing out, percent-encoded so that curl sends it as it is
  CHECK(site.as("user02", "/api/v1/inputs/..%2Fuser01%2Finputs%2Fphotos%2Fcat.png").status == 422);
}

TEST_CASE("through nginx, the admin API is the admin's alone", "[server][nginx_proxy]") {
  const workshop_site site;
  const curl_answer refused = site.as("user01", "/api/v1/queue");
  CHECK(refused.status == 403);
  CHECK(nlohmann::json::parse(refused.body).at("error").at("code") == "forbidden");
  CHECK(site.as("user01", "/api/v1/queue/pause", {"--request", "POST"}).status == 403);
  const curl_answer queue = site.as("admin", "/api/v1/queue");
  CHECK(queue.status == 200);
  CHECK(nlohmann::json::parse(queue.body).contains("policy"));
  // A client's own X-Remote-User is never believed: nginx sets it.
  CHECK(site.as("user01", "/api/v1/queue", {"--header", "X-Remote-User: admin"}).status == 403);
}

TEST_CASE("through nginx, the site's root leads each user to its own page, and the dashboard is the admin's",
          "[server][nginx_proxy]") {
  const workshop_site site;
  const curl_answer own = site.as("user01", "/", {"--location"});
  CHECK(own.status == 200);
  CHECK_THAT(own.body, Catch::Contains("<html"));
  CHECK_THAT(own.body, Catch::Contains("user.js"));
  CHECK(site.as("user01", "/user/user02/").status == 403);
  CHECK(site.as("user01", "/admin/").status == 403);
  const curl_answer dashboard = site.as("admin", "/", {"--location"});
  CHECK(dashboard.status == 200);
  CHECK_THAT(dashboard.body, Catch::Contains("admin.js"));
  CHECK(site.as("admin", "/ui/live.js").status == 200);
}

}  // namespace
