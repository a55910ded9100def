// Identity from nginx's X-Remote-User: believed from the configured proxy addresses only.

#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/server/trusted_proxy.hpp"
#include "support/expect_invalid.hpp"

using comfyq::server::header_field;
using comfyq::server::identify_by_proxy;
using comfyq::server::proxy_identity;
using comfyq::server::trusted_proxy_settings;
using comfyq::test::expect_invalid;
using proxy_verdict = proxy_identity::verdict;

namespace {
const trusted_proxy_settings local_nginx{.addresses = {"127.0.0.1", "::1"}};
}

TEST_CASE("a trusted proxy's X-Remote-User names the user", "[server][trusted_proxy]") {
  const std::vector<header_field> headers{{"Host", "comfy.example.org"}, {"X-Remote-User", "user07"}};
  const proxy_identity identity = identify_by_proxy("127.0.0.1", headers, local_nginx);
  CHECK(identity.outcome == proxy_verdict::user);
  CHECK(identity.user == "user07");
}

TEST_CASE("the header's name is matched without regard to case", "[server][trusted_proxy]") {
  const std::vector<header_field> headers{{"x-remote-user", "user07"}};
  CHECK(identify_by_proxy("::1", headers, local_nginx).user == "user07");
}

TEST_CASE("an untrusted peer's X-Remote-User is ignored", "[server][trusted_proxy]") {
  const std::vector<header_field> headers{{"X-Remote-User", "admin"}};
  const proxy_identity identity = identify_by_proxy("203.0.113.9", headers, local_nginx);
  CHECK(identity.outcome == proxy_verdict::untrusted_peer);
  CHECK(identity.user.empty());
  CHECK(identify_by_proxy("127.0.0.2", headers, local_nginx).outcome == proxy_verdict::untrusted_peer);
  CHECK(identify_by_proxy("not an address", headers, local_nginx).outcome == proxy_verdict::untrusted_peer);
  CHECK(identify_by_proxy("127.0.0.1", headers, trusted_proxy_settings{}).outcome == proxy_verdict::untrusted_peer);
}

TEST_CASE("addresses are compared by value, whatever their spelling", "[server][trusted_proxy]") {
  const std::vector<header_field> headers{{"X-Remote-User", "user07"}};
  CHECK(identify_by_proxy("::ffff:127.0.0.1", headers, local_nginx).outcome == proxy_verdict::user);
  CHECK(identify_by_proxy("0:0:0:0:0:0:0:1", headers, local_nginx).outcome == proxy_verdict::user);
}

TEST_CASE("a trusted proxy that names no user, two users or an invalid one is refused", "[server][trusted_proxy]") {
  const std::vector<header_field> none{{"Host", "x"}};
  const proxy_identity missing = identify_by_proxy("127.0.0.1", none, local_nginx);
  CHECK(missing.outcome == proxy_verdict::refused);
  CHECK_THAT(missing.reason, Catch::Contains("sent no X-Remote-User") && Catch::Contains("auth_basic"));

  const std::vector<header_field> two{{"X-Remote-User", "user07"}, {"X-Remote-User", "admin"}};
  CHECK(identify_by_proxy("127.0.0.1", two, local_nginx).outcome == proxy_verdict::refused);

  for (const char* invalid : {"", "../admin", "user 7", "user07,admin"}) {
    const std::vector<header_field> headers{{"X-Remote-User", invalid}};
    CHECK(identify_by_proxy("127.0.0.1", headers, local_nginx).outcome == proxy_verdict::refused);
  }
}

TEST_CASE("another header can carry the user", "[server][trusted_proxy]") {
  const trusted_proxy_settings settings{.addresses = {"10.0.0.2"}, .user_header = "X-Forwarded-User"};
  const std::vector<header_field> headers{{"X-Remote-User", "admin"}, {"X-Forwarded-User", "user07"}};
  CHECK(identify_by_proxy("10.0.0.2", headers, settings).user == "user07");
}

TEST_CASE("trusted proxies are IP addresses, and the user header a header name", "[server][trusted_proxy]") {
  CHECK_NOTHROW(local_nginx.validate());
  const comfyq::invalid_input refused =
      expect_invalid([] { trusted_proxy_settings{.addresses = {"localhost"}}.validate(); });
  CHECK(refused.field() == "trusted_proxies");
  CHECK_THAT(refused.what(), Catch::Contains("'localhost' is not an IPv4 or IPv6 address"));
  CHECK(expect_invalid([] { trusted_proxy_settings{.user_header = "X Remote User"}.validate(); }).field() ==
        "user_header");
  CHECK(expect_invalid([] { trusted_proxy_settings{.user_header = ""}.validate(); }).field() == "user_header");
}
