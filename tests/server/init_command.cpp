// comfyq-server init as the instructor runs it: both files made, the passwords readable by
// their owner only, and nothing ever overwritten.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/htpasswd.hpp"
#include "support/program_run.hpp"
#include "support/scratch_folder.hpp"

using comfyq::testing::program_result;
using comfyq::testing::run_program;

namespace {

program_result comfyq_server(std::vector<std::string> arguments) {
  return run_program(COMFYQ_SERVER_EXECUTABLE, std::move(arguments));
}

std::string contents(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned mode_of(const std::filesystem::path& file) {
  struct stat status {};
  REQUIRE(::stat(file.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

}  // namespace

TEST_CASE("init makes an htpasswd and a credentials file only its owner reads", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const auto data = folder.path() / "data";
  const program_result init = comfyq_server({"init", "--users", "3", "--data", data.string()});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK_THAT(init.out, Catch::Contains("credentials.txt"));

  CHECK(mode_of(data / "credentials.txt") == 0600);
  CHECK(mode_of(data / "htpasswd") == 0644);
  const auto users = comfyq::server::htpasswd::load(data / "htpasswd");
  CHECK(users.size() == 4);
  std::istringstream credentials(contents(data / "credentials.txt"));
  std::string names;
  for (std::string line; std::getline(credentials, line);) {
    const std::string name = line.substr(0, line.find(':'));
    const std::string password = line.substr(line.find(':') + 1);
    names += name + " ";
    CHECK(users.verify(name, password));
  }
  CHECK(names == "admin user01 user02 user03 ");
}

TEST_CASE("init takes the participants' prefix", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const program_result init =
      comfyq_server({"init", "--users", "2", "--prefix", "team", "--data", folder.path().string()});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK_THAT(contents(folder.path() / "credentials.txt"), Catch::Contains("\nteam01:") && Catch::Contains("\nteam02:"));
}

TEST_CASE("init never overwrites either file, and says which one is in the way", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const std::string data = folder.path().string();
  REQUIRE(comfyq_server({"init", "--users", "2", "--data", data}).exit_code == 0);
  const std::string htpasswd = contents(folder.path() / "htpasswd");
  const std::string credentials = contents(folder.path() / "credentials.txt");

  const program_result again = comfyq_server({"init", "--users", "5", "--data", data});
  CHECK(again.exit_code != 0);
  CHECK_THAT(again.err, Catch::Contains((folder.path() / "credentials.txt").string() + ": exists already") &&
                            Catch::Contains("move it"));
  CHECK(contents(folder.path() / "htpasswd") == htpasswd);
  CHECK(contents(folder.path() / "credentials.txt") == credentials);

  // With only the htpasswd left, it is the one named, and still nothing is written.
  std::filesystem::remove(folder.path() / "credentials.txt");
  const program_result half = comfyq_server({"init", "--users", "5", "--data", data});
  CHECK(half.exit_code != 0);
  CHECK_THAT(half.err, Catch::Contains((folder.path() / "htpasswd").string() + ": exists already"));
  CHECK(contents(folder.path() / "htpasswd") == htpasswd);
  CHECK_FALSE(std::filesystem::exists(folder.path() / "credentials.txt"));
}

TEST_CASE("a wrong init command line exits 2, naming the flag", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const std::string data = folder.path().string();
  const program_result no_users = comfyq_server({"init", "--data", data});
  CHECK(no_users.exit_code == 2);
  CHECK_THAT(no_users.err, Catch::Contains("--users is required"));

  const program_result zero = comfyq_server({"init", "--users", "0", "--data", data});
  CHECK(zero.exit_code == 2);
  CHECK_THAT(zero.err, Catch::Contains("--users: 0 is not a number of participants from 1 to 999"));

  const program_result prefix = comfyq_server({"init", "--users", "2", "--prefix", "a b", "--data", data});
  CHECK(prefix.exit_code == 2);
  CHECK_THAT(prefix.err, Catch::Contains("--prefix: 'a b' cannot begin a user name"));

  CHECK(comfyq_server({"init", "--users", "2"}).exit_code == 2);
  CHECK(comfyq_server({"--no-such-flag"}).exit_code == 2);
  CHECK(std::filesystem::is_empty(folder.path()));
}

TEST_CASE("init reports a folder it cannot write to, and exits 1", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  std::ofstream(folder.path() / "a-file") << "not a folder\n";
  const program_result init =
      comfyq_server({"init", "--users", "2", "--data", (folder.path() / "a-file" / "data").string()});
  CHECK(init.exit_code == 1);
  CHECK_THAT(init.err, Catch::Contains("a-file"));
}
