// bcrypt hashes: ours verify, so do those Apache's htpasswd makes ($2y$), and nothing else does.

#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/bcrypt.hpp"
#include "support/expect_invalid.hpp"
#include "support/program_run.hpp"

using comfyq::server::bcrypt_hash;
using comfyq::server::bcrypt_verify;
using comfyq::server::is_bcrypt_hash;
using comfyq::server::min_bcrypt_cost;
using comfyq::test::expect_invalid;

TEST_CASE("a password verifies against the hash made from it, and no other password does", "[server][bcrypt]") {
  const std::string hash = bcrypt_hash("correct horse", min_bcrypt_cost);
  CHECK(hash.starts_with("$2b$04$"));
  CHECK(is_bcrypt_hash(hash));
  CHECK(bcrypt_verify("correct horse", hash));
  CHECK_FALSE(bcrypt_verify("correct hors", hash));
  CHECK_FALSE(bcrypt_verify("correct horse ", hash));
  CHECK_FALSE(bcrypt_verify("", hash));
}

TEST_CASE("every hash gets its own salt", "[server][bcrypt]") {
  CHECK(bcrypt_hash("same", min_bcrypt_cost) != bcrypt_hash("same", min_bcrypt_cost));
}

TEST_CASE("the cost factor is written into the hash", "[server][bcrypt]") {
  CHECK(bcrypt_hash("x").starts_with("$2b$04$"));  // the lowest cost: see default_bcrypt_cost
  CHECK(bcrypt_hash("x", 5).starts_with("$2b$05$"));
  CHECK(expect_invalid([] { bcrypt_hash("x", 3); }).field() == "bcrypt_cost");
  CHECK(expect_invalid([] { bcrypt_hash("x", 32); }).field() == "bcrypt_cost");
}

TEST_CASE("a $2y$ hash made by Apache's htpasswd verifies", "[server][bcrypt]") {
  const std::string htpasswd = comfyq::testing::find_program("htpasswd");
  INFO("htpasswd (Debian package apache2-utils) makes the hashes this test checks: run scripts/install-deps");
  REQUIRE_FALSE(htpasswd.empty());
  const auto made = comfyq::testing::run_program(htpasswd, {"-nbB", "-C", "5", "alice", "correct horse"});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  REQUIRE(made.out.starts_with("alice:$2y$05$"));
  const std::string hash = made.out.substr(6, 60);
  CHECK(is_bcrypt_hash(hash));
  CHECK(bcrypt_verify("correct horse", hash));
  CHECK_FALSE(bcrypt_verify("correct horsE", hash));
}

TEST_CASE("a password that bcrypt would cut is refused, never half-checked", "[server][bcrypt]") {
  const std::string hash = bcrypt_hash("abc", min_bcrypt_cost);
  // crypt reads up to the NUL byte: "abc\0anything" must not pass for "abc".
  CHECK_FALSE(bcrypt_verify(std::string("abc\0anything", 12), hash));
  CHECK(expect_invalid([] { bcrypt_hash(std::string("a\0b", 3)); }).field() == "password");
  CHECK(expect_invalid([] { bcrypt_hash(std::string(73, 'x')); }).field() == "password");
  CHECK(is_bcrypt_hash(bcrypt_hash(std::string(72, 'x'), min_bcrypt_cost)));
}

TEST_CASE("only well-formed $2b$ and $2y$ hashes are bcrypt hashes", "[server][bcrypt]") {
  const std::string good = "$2y$05$JmkxaF3l5uspcSKRQPb1O.wH9fBpM.lSo0KYCiQbk5mvjGW5FWB5G";
  CHECK(is_bcrypt_hash(good));
  CHECK(is_bcrypt_hash("$2b$" + good.substr(4)));
  CHECK_FALSE(is_bcrypt_hash("$2a$" + good.substr(4)));
  CHECK_FALSE(is_bcrypt_hash("$apr1$abcdefgh$0123456789abcdefghijkl"));  // htpasswd's default MD5
  CHECK_FALSE(is_bcrypt_hash("{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00="));
  CHECK_FALSE(is_bcrypt_hash(good.substr(0, 59)));
  CHECK_FALSE(is_bcrypt_hash(good + "x"));
  CHECK_FALSE(is_bcrypt_hash("$2y$03$" + good.substr(7)));
  CHECK_FALSE(is_bcrypt_hash("$2y$05$" + good.substr(7, 52) + "!"));
  CHECK_FALSE(bcrypt_verify("anything", "*0"));
}
