// The server's own htpasswd: who may log in, checked against bcrypt hashes; a file with
// mistakes is refused as a whole, every mistake named by its line.

#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/bcrypt.hpp"
#include "comfyq/server/htpasswd.hpp"
#include "support/expect_invalid.hpp"
#include "support/scratch_folder.hpp"

using comfyq::server::bcrypt_hash;
using comfyq::server::htpasswd;
using comfyq::server::htpasswd_line;
using comfyq::server::min_bcrypt_cost;
using comfyq::test::expect_invalid;

namespace {

std::string hash_of(const std::string& password) { return bcrypt_hash(password, min_bcrypt_cost); }

std::string htpasswd_refusal(const std::string& text) {
  const comfyq::invalid_input refused = expect_invalid([&] { htpasswd::parse(text, "/srv/comfyq/htpasswd"); });
  CHECK(refused.field() == "/srv/comfyq/htpasswd");
  return refused.what();
}

}  // namespace

TEST_CASE("a listed user with the right password is accepted", "[server][htpasswd]") {
  const htpasswd users =
      htpasswd::parse(htpasswd_line("alice", hash_of("a-pass")) + htpasswd_line("bob", hash_of("b-pass")));
  CHECK(users.size() == 2);
  CHECK(users.verify("alice", "a-pass"));
  CHECK(users.verify("bob", "b-pass"));
}

TEST_CASE("a wrong password or an unknown user is refused", "[server][htpasswd]") {
  const htpasswd users =
      htpasswd::parse(htpasswd_line("alice", hash_of("a-pass")) + htpasswd_line("bob", hash_of("b-pass")));
  CHECK_FALSE(users.verify("alice", "b-pass"));
  CHECK_FALSE(users.verify("alice", ""));
  CHECK_FALSE(users.verify("Alice", "a-pass"));
  CHECK_FALSE(users.verify("carol", "a-pass"));
  CHECK_FALSE(users.verify("", "a-pass"));
}

TEST_CASE("blank lines, # comments and Windows line ends are allowed", "[server][htpasswd]") {
  const htpasswd users =
      htpasswd::parse("# the workshop\n\nalice:" + hash_of("a-pass") + "\r\n\r\nbob:" + hash_of("b-pass"));
  CHECK(users.size() == 2);
  CHECK(users.verify("alice", "a-pass"));
  CHECK(users.verify("bob", "b-pass"));
}

TEST_CASE("malformed lines are reported with their line numbers, all at once", "[server][htpasswd]") {
  const std::string good = hash_of("x");
  const std::string refused = htpasswd_refusal("alice:" + good + "\n" +                           // 1
                                               "no colon here\n" +                                // 2
                                               "# fine\n" +                                       // 3
                                               "bob smith:" + good + "\n" +                       // 4
                                               "carol:$apr1$abcdefgh$0123456789abcdefghijkl\n" +  // 5
                                               "alice:" + good + "\n");                           // 6
  CHECK_THAT(refused, Catch::StartsWith("[comfyq.invalid_input] /srv/comfyq/htpasswd: line 2: no ':'"));
  CHECK_THAT(refused, Catch::Contains("line 4: 'bob smith' is not a valid user name"));
  CHECK_THAT(refused, Catch::Contains("line 5: the hash of 'carol' is not bcrypt ($2y$ or $2b$); make it again with "
                                      "`htpasswd -B <file> carol`"));
  CHECK_THAT(refused, Catch::Contains("line 6: 'alice' is already on line 1"));
  CHECK_THAT(refused, !Catch::Contains("line 1:") && !Catch::Contains("line 3:"));
  CHECK_THAT(refused, !Catch::Contains("$apr1$"));  // a hash is never repeated in a message
}

TEST_CASE("an htpasswd without users is refused", "[server][htpasswd]") {
  CHECK_THAT(htpasswd_refusal(""), Catch::Contains("has no users"));
  CHECK_THAT(htpasswd_refusal("# nobody yet\n"), Catch::Contains("has no users"));
}

TEST_CASE("an htpasswd file is loaded from disk, and a missing one is named", "[server][htpasswd]") {
  const comfyq::testing::scratch_folder folder;
  const auto file = folder.path() / "htpasswd";
  std::ofstream(file) << htpasswd_line("alice", hash_of("a-pass"));
  CHECK(htpasswd::load(file).verify("alice", "a-pass"));

  const auto missing = folder.path() / "nothing-here";
  const comfyq::invalid_input refused = expect_invalid([&] { htpasswd::load(missing); });
  CHECK(refused.field() == missing.string());
  CHECK_THAT(refused.what(), Catch::Contains("cannot be read"));
}
