// The users a workshop gets: readable random passwords, names user01..userNN plus an admin,
// and options that are refused before anything is written.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "comfyq/server/htpasswd.hpp"
#include "comfyq/server/passwords.hpp"
#include "comfyq/server/provisioning.hpp"
#include "support/expect_invalid.hpp"
#include "support/scratch_folder.hpp"

using comfyq::server::generate_password;
using comfyq::server::password_alphabet;
using comfyq::server::provisioning_options;
using comfyq::test::expect_invalid;

TEST_CASE("a generated password is three groups of four unambiguous characters", "[server][provisioning]") {
  for (int i = 0; i < 100; ++i) {
    const std::string password = generate_password();
    REQUIRE(password.size() == 14);
    CHECK(password[4] == '-');
    CHECK(password[9] == '-');
    for (std::size_t k : {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13}) {
      CHECK(password_alphabet.find(password[k]) != std::string_view::npos);
    }
  }
  CHECK(password_alphabet.find_first_of("0o1li") == std::string_view::npos);
}

TEST_CASE("generated passwords differ, and use the whole alphabet", "[server][provisioning]") {
  std::set<std::string> passwords;
  std::set<char> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string password = generate_password();
    passwords.insert(password);
    seen.insert(password.begin(), password.end());
  }
  CHECK(passwords.size() == 200);
  CHECK(seen.size() == password_alphabet.size() + 1);  // and '-'
}

TEST_CASE("participants are numbered with two digits, three from 100 on", "[server][provisioning]") {
  const auto names = provisioning_options{.data = "x", .users = 12}.participant_names();
  CHECK(names.front() == "user01");
  CHECK(names.back() == "user12");
  CHECK(provisioning_options{.data = "x", .users = 3, .prefix = "p-"}.participant_names() ==
        std::vector<std::string>{"p-01", "p-02", "p-03"});
  const auto many = provisioning_options{.data = "x", .users = 120}.participant_names();
  CHECK(many.front() == "user001");
  CHECK(many.back() == "user120");
}

TEST_CASE("provisioning makes the admin and the participants, whose passwords verify", "[server][provisioning]") {
  const comfyq::testing::scratch_folder folder;
  const auto made = comfyq::server::provision_users(
      {.data = folder.path() / "data", .users = 2, .bcrypt_cost = comfyq::server::min_bcrypt_cost});
  CHECK(made.names == std::vector<std::string>{"admin", "user01", "user02"});
  CHECK(made.htpasswd_file == folder.path() / "data" / "htpasswd");
  CHECK(made.credentials_file == folder.path() / "data" / "credentials.txt");

  const auto users = comfyq::server::htpasswd::load(made.htpasswd_file);
  CHECK(users.size() == 3);
  std::ifstream credentials(made.credentials_file);
  std::vector<std::string> names;
  for (std::string line; std::getline(credentials, line);) {
    const std::string name = line.substr(0, line.find(':'));
    names.push_back(name);
    CHECK(users.verify(name, line.substr(line.find(':') + 1)));
  }
  CHECK(names == made.names);
}

TEST_CASE("provisioning writes nothing where either file exists", "[server][provisioning]") {
  const comfyq::testing::scratch_folder folder;
  for (const char* existing : {"htpasswd", "credentials.txt"}) {
    std::filesystem::remove_all(folder.path() / "data");
    std::filesystem::create_directories(folder.path() / "data");
    std::ofstream(folder.path() / "data" / existing) << "kept\n";
    const comfyq::invalid_input refused = expect_invalid(
        [&] { comfyq::server::provision_users({.data = folder.path() / "data", .users = 1, .bcrypt_cost = 4}); });
    CHECK(refused.field() == (folder.path() / "data" / existing).string());
    CHECK_THAT(refused.what(), Catch::Contains("never overwrites"));
    CHECK(std::distance(std::filesystem::directory_iterator(folder.path() / "data"),
                        std::filesystem::directory_iterator()) == 1);
  }
}

TEST_CASE("wrong provisioning options are refused, naming the option", "[server][provisioning]") {
  const auto refused_field = [](const provisioning_options& options) {
    return expect_invalid([&] { options.validate(); }).field();
  };
  CHECK(refused_field({.users = 3}) == "data");
  CHECK(refused_field({.data = "x", .users = 0}) == "users");
  CHECK(refused_field({.data = "x", .users = 1000}) == "users");
  CHECK(refused_field({.data = "x", .users = 3, .prefix = "a/b"}) == "prefix");
  CHECK(refused_field({.data = "x", .users = 3, .prefix = std::string(62, 'u')}) == "prefix");
  CHECK(refused_field({.data = "x", .users = 3, .admin = "the teacher"}) == "admin");
  CHECK(refused_field({.data = "x", .users = 3, .admin = "user02"}) == "admin");
  CHECK(refused_field({.data = "x", .users = 3, .bcrypt_cost = 3}) == "bcrypt_cost");
}
