// GET /api/v1/jobs: a participant's own jobs, newest first, by state, a page at a time; an
// admin's every tenant's or one tenant's; and the refusals, each naming the parameter.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_server.hpp"

namespace http = boost::beast::http;
using comfyq::testing::refusal;
using comfyq::testing::running_server;

namespace {

std::vector<std::string> ids_in(const comfyq::testing::http_answer& answer) {
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  std::vector<std::string> ids;
  const nlohmann::json listed = answer.json();  // kept: a range-for over a temporary's member would dangle
  for (const auto& job : listed.at("jobs")) ids.push_back(job.at("id"));
  return ids;
}

}  // namespace

TEST_CASE("a participant lists its own jobs newest first, an admin lists everyone's or one tenant's", "[server]") {
  running_server s;
  const std::string a1 = s.submitted("alice");
  const std::string b1 = s.submitted("bob");
  const std::string a2 = s.submitted("alice");

  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs", "alice")) == std::vector<std::string>{a2, a1});
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs", "bob")) == std::vector<std::string>{b1});
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs", "carol")).empty());
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs?tenant=alice", "alice")) == std::vector<std::string>{a2, a1});
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs", "admin")) == std::vector<std::string>{a2, b1, a1});
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs?tenant=bob", "admin")) == std::vector<std::string>{b1});

  const nlohmann::json listed = s.call(http::verb::get, "/api/v1/jobs", "alice").json();
  CHECK(listed.at("next").is_null());
  CHECK(listed.at("jobs")[1].at("position") == 1);  // a queued job shows its place, as GET of one does
  CHECK_FALSE(listed.at("jobs")[1].contains("workflow"));
}

TEST_CASE("a job listing filters by state and goes page by page without repeats", "[server]") {
  running_server s;
  std::vector<std::string> newest_first;
  for (int n = 0; n < 5; ++n) newest_first.insert(newest_first.begin(), s.submitted("alice"));
  REQUIRE(s.call(http::verb::post, "/api/v1/jobs/" + newest_first[1] + "/cancel", "alice").status == 200);

  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs?state=cancelled", "alice")) ==
        std::vector<std::string>{newest_first[1]});
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs?state=queued,cancelled", "alice")) == newest_first);
  CHECK(ids_in(s.call(http::verb::get, "/api/v1/jobs?state=running", "alice")).empty());

  std::vector<std::string> paged;
  std::string target = "/api/v1/jobs?limit=2";
  for (int page = 0; page < 5; ++page) {
    const auto answer = s.call(http::verb::get, target, "alice");
    for (const std::string& id : ids_in(answer)) paged.push_back(id);
    const nlohmann::json next = answer.json().at("next");
    if (next.is_null()) break;
    target = "/api/v1/jobs?limit=2&after=" + next.get<std::string>();
  }
  CHECK(paged == newest_first);
}

TEST_CASE("a job listing refuses a wrong parameter naming it, and another tenant's jobs to a participant",
          "[server]") {
  running_server s;
  s.submitted("alice");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?limit=0", "alice"), 422).at("field") == "limit");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?limit=501", "alice"), 422).at("field") == "limit");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?limit=ten", "alice"), 422).at("field") == "limit");
  const nlohmann::json state = refusal(s.call(http::verb::get, "/api/v1/jobs?state=done", "alice"), 422);
  CHECK(state.at("field") == "state");
  CHECK(state.at("message").get<std::string>().find("queued, running") != std::string::npos);
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?after=x", "alice"), 422).at("field") == "after");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?sate=queued", "alice"), 422).at("field") == "sate");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?limit=1&limit=2", "alice"), 422).at("field") == "limit");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?tenant=%zz", "alice"), 422).at("field") == "tenant");
  CHECK(refusal(s.call(http::verb::get, "/api/v1/jobs?tenant=bob", "alice"), 403).at("field") == "tenant");
}
