// The server asking the authenticator who sent each request: the password prompt for none or a
// wrong one, the user's own work for the right one, admin routes for admins only.
#include <catch2/catch.hpp>

#include <string>

#include "comfyq/server/bcrypt.hpp"
#include "comfyq/server/htpasswd.hpp"
#include "comfyq/server/server.hpp"
#include "comfyq/store/memory.hpp"
#include "support/http_call.hpp"

namespace http = boost::beast::http;
using comfyq::testing::basic;
using comfyq::testing::http_call;

TEST_CASE("through the htpasswd authenticator: a prompt without the right password, the job with it", "[server]") {
  comfyq::server::authenticator users(
      {}, comfyq::server::htpasswd::parse(comfyq::server::htpasswd_line("alice", comfyq::server::bcrypt_hash("s3cret", 4)) +
                                          "\n"));
  comfyq::store::memory queue;
  comfyq::server::server web(queue, {.port = 0, .identify = comfyq::server::identify_with(users)});
  web.start();
  const std::string id = queue.submit({.tenant = "alice", .workflow = "{}"});

  comfyq::testing::http_answer anonymous = http_call(web.port(), http::verb::get, "/api/v1/jobs/" + id);
  CHECK(anonymous.status == 401);
  CHECK(anonymous.headers[http::field::www_authenticate].starts_with("Basic realm="));
  CHECK(http_call(web.port(), http::verb::get, "/api/v1/jobs/" + id, {{"Authorization", basic("alice", "wrong")}}).status ==
        401);
  comfyq::testing::http_answer alice =
      http_call(web.port(), http::verb::get, "/api/v1/jobs/" + id, {{"Authorization", basic("alice", "s3cret")}});
  INFO(alice.body);
  CHECK(alice.status == 200);
  CHECK(alice.json().at("id") == id);
}
