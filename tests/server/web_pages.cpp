// The pages: "/" sends each user to its own, /admin/ is for admins, /user/<name>/ for that user
// and admins, /ui/<file> serves what the pages load; each with its media type and a policy that
// lets a page load nothing from elsewhere.
#include <catch2/catch.hpp>

#include <string>

#include "server/api_server.hpp"

namespace http = boost::beast::http;
using comfyq::testing::http_answer;
using comfyq::testing::refusal;

namespace {

struct page_server {
  comfyq::store::memory queue;
  comfyq::server::server web{queue,
                             {.port = 0,
                              .identify = comfyq::testing::users_by_test_header(),
                              .pages = {{"admin.html", "<title>dashboard</title>"},
                                        {"user.html", "<title>your jobs</title>"},
                                        {"live.js", "const live = 1;"},
                                        {"comfyq.css", "body { margin: 0 }"}}}};
  page_server() { web.start(); }

  http_answer get(const std::string& target, const std::string& user) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!user.empty()) headers.emplace_back("X-Test-User", user);
    return comfyq::testing::http_call(web.port(), http::verb::get, target, headers);
  }
};

}  // namespace

TEST_CASE("the site's root sends an admin to the dashboard and a participant to its page", "[server][pages]") {
  page_server s;
  const http_answer admin = s.get("/", "admin");
  CHECK(admin.status == 302);
  CHECK(admin.headers[http::field::location] == "admin/");
  const http_answer alice = s.get("/", "alice");
  CHECK(alice.status == 302);
  CHECK(alice.headers[http::field::location] == "user/alice/");
  refusal(s.get("/", ""), 401);
}

TEST_CASE("the dashboard is for admins, and each participant's page for that participant and admins",
          "[server][pages]") {
  page_server s;
  const http_answer dashboard = s.get("/admin/", "admin");
  REQUIRE(dashboard.status == 200);
  CHECK(dashboard.body == "<title>dashboard</title>");
  CHECK(dashboard.headers[http::field::content_type] == "text/html; charset=utf-8");
  CHECK(std::string(dashboard.headers["Content-Security-Policy"]).starts_with("default-src 'self'"));
  CHECK(refusal(s.get("/admin/", "alice"), 403).at("code") == "forbidden");

  const http_answer own = s.get("/user/alice/", "alice");
  REQUIRE(own.status == 200);
  CHECK(own.body == "<title>your jobs</title>");
  CHECK(s.get("/user/alice/", "admin").status == 200);
  const nlohmann::json other = refusal(s.get("/user/bob/", "alice"), 403);
  CHECK(other.at("message") == "this is bob's page; yours is /user/alice/");

  // Without the slash a page's relative links would miss: it is sent to the folder.
  const http_answer bare = s.get("/user/alice?tab=outputs", "alice");
  CHECK(bare.status == 302);
  CHECK(bare.headers[http::field::location] == "alice/?tab=outputs");
  CHECK(s.get("/admin", "admin").headers[http::field::location] == "admin/");
}

TEST_CASE("the files pages load are served with their media types, the pages themselves are not", "[server][pages]") {
  page_server s;
  const http_answer script = s.get("/ui/live.js", "");
  REQUIRE(script.status == 200);
  CHECK(script.body == "const live = 1;");
  CHECK(script.headers[http::field::content_type] == "text/javascript; charset=utf-8");
  CHECK(script.headers["X-Content-Type-Options"] == "nosniff");
  CHECK(s.get("/ui/comfyq.css", "").headers[http::field::content_type] == "text/css; charset=utf-8");
  refusal(s.get("/ui/admin.html", ""), 404);
  refusal(s.get("/ui/missing.js", ""), 404);
}

TEST_CASE("a server given no pages serves only the API", "[server][pages]") {
  comfyq::testing::running_server s;
  refusal(s.call(http::verb::get, "/", "alice"), 404);
  refusal(s.call(http::verb::get, "/admin/", "admin"), 404);
}
