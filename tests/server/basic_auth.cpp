// The Authorization header of HTTP Basic: what a browser sends after the login prompt.

#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/basic_auth.hpp"
#include "support/expect_invalid.hpp"

using comfyq::server::parse_basic_authorization;
using comfyq::test::expect_invalid;

namespace {

std::string refusal_of(const std::string& value) {
  const comfyq::invalid_input refused = expect_invalid([&] { parse_basic_authorization(value); });
  CHECK(refused.field() == "Authorization");
  return refused.what();
}

}  // namespace

TEST_CASE("Basic credentials are base64 of user:password", "[server][basic_auth]") {
  const auto credentials = parse_basic_authorization("Basic YWxpY2U6b3BlbiBzZXNhbWU=");  // alice:open sesame
  CHECK(credentials.user == "alice");
  CHECK(credentials.password == "open sesame");
}

TEST_CASE("the password is everything after the first colon, and may be empty", "[server][basic_auth]") {
  CHECK(parse_basic_authorization("Basic Ym9iOmE6Yjpj").password == "a:b:c");  // bob:a:b:c
  CHECK(parse_basic_authorization("Basic Ym9iOg==").password.empty());         // bob:
}

TEST_CASE("the scheme is case-insensitive and spaces around the credentials are allowed", "[server][basic_auth]") {
  CHECK(parse_basic_authorization("basic YWxpY2U6eA==").user == "alice");
  CHECK(parse_basic_authorization("BASIC   YWxpY2U6eA==  ").user == "alice");
  CHECK(parse_basic_authorization(" Basic\tYWxpY2U6eA==").user == "alice");
}

TEST_CASE("a malformed Authorization header is refused, saying what is wrong", "[server][basic_auth]") {
  CHECK_THAT(refusal_of(""), Catch::Contains("is empty"));
  CHECK_THAT(refusal_of("Bearer abc.def"), Catch::Contains("scheme other than Basic"));
  CHECK_THAT(refusal_of("Basicx YWxpY2U6eA=="), Catch::Contains("scheme other than Basic"));
  CHECK_THAT(refusal_of("Basic"), Catch::Contains("no credentials"));
  CHECK_THAT(refusal_of("Basic   "), Catch::Contains("no credentials"));
  CHECK_THAT(refusal_of("Basic YWxpY2U6eA"), Catch::Contains("not valid base64"));     // padding missing
  CHECK_THAT(refusal_of("Basic YWxp Y2U6eA=="), Catch::Contains("not valid base64"));  // a space inside
  CHECK_THAT(refusal_of("Basic YW=pY2U6eA=="), Catch::Contains("not valid base64"));   // '=' inside
  CHECK_THAT(refusal_of("Basic YWxpY2U6eB=="), Catch::Contains("not valid base64"));   // not canonical
  CHECK_THAT(refusal_of("Basic YWxpY2U="), Catch::Contains("no ':'"));                 // alice
  CHECK_THAT(refusal_of("Basic OnNlY3JldA=="), Catch::Contains("empty user name"));    // :secret
  CHECK_THAT(refusal_of("Basic"), Catch::Contains("send \"Basic \" followed by base64 of user:password"));
}
