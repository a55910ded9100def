// The site nginx-config prints, served by a real nginx in front of a stand-in for
// comfyq-server: only requests with a right password pass, and the server learns the user from
// nginx, never from the client, and never sees the password.

#include <string>

#include <catch2/catch.hpp>

#include "server/header_echo.hpp"
#include "server/nginx_prefix.hpp"
#include "server/running_nginx.hpp"
#include "server/serving.hpp"

using comfyq::testing::header_echo;
using comfyq::testing::nginx_prefix;
using comfyq::testing::program_result;
using comfyq::testing::running_nginx;

namespace {

struct proxied_echo {
  nginx_prefix prefix;
  header_echo echo;
  running_nginx nginx{prefix, echo.port()};

  // curl's answer to GET / with `more` arguments: the status code, then the body.
  program_result get(std::vector<std::string> more) const {
    more.insert(more.end(), {"--write-out", "%{http_code}\n"});
    return nginx.curl_run("/", std::move(more));
  }

  std::string password_of(const std::string& user) const {
    return comfyq::testing::password_of(prefix.path("data/credentials.txt"), user);
  }
};

}  // namespace

TEST_CASE("through nginx, the server learns the user from nginx, never from the client", "[server][nginx_proxy]") {
  proxied_echo site;
  const program_result answer = site.get({"--user", "user01:" + site.password_of("user01"), "--header",
                                          "X-Remote-User: admin", "--header", "x-remote-user: admin"});
  INFO(answer.err);
  REQUIRE(answer.exit_code == 0);
  const std::string& received = answer.out;  // the head the server received, then curl's status line
  CHECK_THAT(received, Catch::EndsWith("200\n"));
  CHECK_THAT(received, Catch::Contains("\r\nX-Remote-User: user01\r\n"));
  CHECK_THAT(received, !Catch::Contains("admin", Catch::CaseSensitive::No));
  CHECK_THAT(received, !Catch::Contains("Authorization", Catch::CaseSensitive::No));
}

TEST_CASE("through nginx, a request without the right password never reaches the server", "[server][nginx_proxy]") {
  proxied_echo site;
  CHECK(site.get({"--output", "/dev/null", "--header", "X-Remote-User: admin"}).out == "401\n");
  CHECK(site.get({"--output", "/dev/null", "--user", "user01:wrong"}).out == "401\n");
  CHECK(site.get({"--output", "/dev/null", "--user", "admin:" + site.password_of("user01")}).out == "401\n");
  CHECK(site.echo.requests() == 0);
}
