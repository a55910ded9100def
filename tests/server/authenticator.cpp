// Who sends a request: a trusted nginx's user, or a password checked by the server itself,
// with guessing slowed down per client.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/server/authenticator.hpp"
#include "comfyq/server/bcrypt.hpp"
#include "support/expect_invalid.hpp"

using namespace std::chrono_literals;
using comfyq::time_point;
using comfyq::server::auth_decision;
using comfyq::server::auth_settings;
using comfyq::server::authenticator;
using comfyq::server::header_field;
using comfyq::server::htpasswd;
using comfyq::server::htpasswd_line;
using comfyq::test::expect_invalid;
using verdict = auth_decision::verdict;

namespace {

const time_point now{std::chrono::hours(24 * 365 * 50)};

htpasswd workshop_users() {
  using comfyq::server::bcrypt_hash;
  using comfyq::server::min_bcrypt_cost;
  return htpasswd::parse(htpasswd_line("admin", bcrypt_hash("admin-pass", min_bcrypt_cost)) +
                         htpasswd_line("user01", bcrypt_hash("user01-pass", min_bcrypt_cost)));
}

auth_settings behind_local_nginx() {
  auth_settings settings;
  settings.proxy.addresses = {"127.0.0.1"};
  return settings;
}

// Basic credentials: user01:user01-pass, admin:admin-pass, user01:wrong, carol:user01-pass.
const std::vector<header_field> user01_password{{"Authorization", "Basic dXNlcjAxOnVzZXIwMS1wYXNz"}};
const std::vector<header_field> admin_password{{"Authorization", "Basic YWRtaW46YWRtaW4tcGFzcw=="}};
const std::vector<header_field> user01_wrong_password{{"Authorization", "Basic dXNlcjAxOndyb25n"}};
const std::vector<header_field> unknown_user{{"Authorization", "Basic Y2Fyb2w6dXNlcjAxLXBhc3M="}};
const std::vector<header_field> not_base64{{"Authorization", "Basic !!!"}};

}  // namespace

TEST_CASE("behind a trusted nginx, its X-Remote-User is the user", "[server][authenticator]") {
  authenticator auth(behind_local_nginx(), std::nullopt);
  const std::vector<header_field> headers{{"X-Remote-User", "user01"}};
  const auth_decision decision = auth.authenticate("127.0.0.1", headers, now);
  CHECK(decision.outcome == verdict::authenticated);
  CHECK(decision.user == "user01");
  CHECK_FALSE(decision.admin);
}

TEST_CASE("the configured admins are admins", "[server][authenticator]") {
  auth_settings settings = behind_local_nginx();
  settings.admins = {"teacher"};
  authenticator auth(settings, std::nullopt);
  const std::vector<header_field> teacher{{"X-Remote-User", "teacher"}};
  const std::vector<header_field> admin{{"X-Remote-User", "admin"}};
  CHECK(auth.authenticate("127.0.0.1", teacher, now).admin);
  CHECK_FALSE(auth.authenticate("127.0.0.1", admin, now).admin);
  CHECK(authenticator(behind_local_nginx(), std::nullopt).is_admin("admin"));  // the default, as init makes it
}

TEST_CASE("without an htpasswd, a peer that is no trusted proxy is forbidden", "[server][authenticator]") {
  authenticator auth(behind_local_nginx(), std::nullopt);
  const std::vector<header_field> headers{{"X-Remote-User", "admin"}};
  const auth_decision decision = auth.authenticate("203.0.113.9", headers, now);
  CHECK(decision.outcome == verdict::forbidden);
  CHECK(decision.user.empty());
}

TEST_CASE("a trusted proxy that names nobody is forbidden, even with a password", "[server][authenticator]") {
  authenticator auth(behind_local_nginx(), workshop_users());
  CHECK(auth.authenticate("127.0.0.1", user01_password, now).outcome == verdict::forbidden);
}

TEST_CASE("with an htpasswd, the right password authenticates", "[server][authenticator]") {
  authenticator auth(auth_settings{}, workshop_users());
  const auth_decision user = auth.authenticate("203.0.113.9", user01_password, now);
  CHECK(user.outcome == verdict::authenticated);
  CHECK(user.user == "user01");
  CHECK_FALSE(user.admin);
  const auth_decision admin = auth.authenticate("203.0.113.9", admin_password, now);
  CHECK(admin.outcome == verdict::authenticated);
  CHECK(admin.admin);
}

TEST_CASE("an untrusted peer's X-Remote-User does not replace its password", "[server][authenticator]") {
  authenticator auth(behind_local_nginx(), workshop_users());
  std::vector<header_field> headers = user01_password;
  headers.push_back({"X-Remote-User", "admin"});
  const auth_decision decision = auth.authenticate("203.0.113.9", headers, now);
  CHECK(decision.user == "user01");
  CHECK_FALSE(decision.admin);
  const std::vector<header_field> only_the_header{{"X-Remote-User", "admin"}};
  CHECK(auth.authenticate("203.0.113.9", only_the_header, now).outcome == verdict::challenge);
}

TEST_CASE("no, malformed or wrong credentials get a challenge", "[server][authenticator]") {
  authenticator auth(auth_settings{}, workshop_users());
  const auth_decision none = auth.authenticate("203.0.113.9", {}, now);
  CHECK(none.outcome == verdict::challenge);
  CHECK(auth.challenge() == "Basic realm=\"comfyq\", charset=\"UTF-8\"");

  const auth_decision wrong = auth.authenticate("203.0.113.9", user01_wrong_password, now);
  CHECK(wrong.outcome == verdict::challenge);
  CHECK_THAT(wrong.reason, Catch::Contains("wrong user name or password for 'user01'"));
  CHECK(auth.authenticate("203.0.113.9", unknown_user, now).outcome == verdict::challenge);
  const auth_decision malformed = auth.authenticate("203.0.113.9", not_base64, now);
  CHECK(malformed.outcome == verdict::challenge);
  CHECK_THAT(malformed.reason, Catch::Contains("not valid base64"));
}

TEST_CASE("too many failures from one client refuse it for a while, and only it", "[server][authenticator]") {
  auth_settings settings;
  settings.limits = {.max_failures = 3, .window = 60s, .lockout = 60s};
  authenticator auth(settings, workshop_users());
  for (int i = 0; i < 3; ++i) {
    CHECK(auth.authenticate("203.0.113.9", user01_wrong_password, now + 1s * i).outcome == verdict::challenge);
  }
  // Even the right password waits: the guesser cannot tell it was right.
  const auth_decision refused = auth.authenticate("203.0.113.9", user01_password, now + 10s);
  CHECK(refused.outcome == verdict::throttled);
  CHECK(refused.retry_after == 52s);
  CHECK(auth.authenticate("198.51.100.4", user01_password, now + 10s).outcome == verdict::authenticated);
  CHECK(auth.authenticate("203.0.113.9", user01_password, now + 62s).outcome == verdict::authenticated);
}

TEST_CASE("asking for a password does not count as a failure", "[server][authenticator]") {
  auth_settings settings;
  settings.limits = {.max_failures = 1, .window = 60s, .lockout = 60s};
  authenticator auth(settings, workshop_users());
  CHECK(auth.authenticate("203.0.113.9", {}, now).outcome == verdict::challenge);
  CHECK(auth.authenticate("203.0.113.9", {}, now).outcome == verdict::challenge);
}

TEST_CASE("wrong auth settings are refused, naming the field", "[server][authenticator]") {
  const auto refused_field = [](auth_settings settings) {
    return expect_invalid([&] { authenticator(settings, std::nullopt); }).field();
  };
  auth_settings bad_admin;
  bad_admin.admins = {"the teacher"};
  CHECK(refused_field(bad_admin) == "admins");
  auth_settings bad_realm;
  bad_realm.realm = "say \"hi\"";
  CHECK(refused_field(bad_realm) == "realm");
  auth_settings bad_proxy;
  bad_proxy.proxy.addresses = {"nginx"};
  CHECK(refused_field(bad_proxy) == "trusted_proxies");
  auth_settings bad_limits;
  bad_limits.limits.max_failures = 0;
  CHECK(refused_field(bad_limits) == "max_failures");
}
