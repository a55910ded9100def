// comfyq-server init as the instructor runs it: both files made, the passwords readable by
// their owner only, and nothing ever overwritten.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "comfyq/server/htpasswd.hpp"
#include "comfyq_server.hpp"
#include "support/read_file.hpp"
#include "support/scratch_folder.hpp"

using comfyq::testing::program_result;
using comfyq::testing::read_file;
using comfyq::testing::run_comfyq_server;

namespace {

unsigned mode_of(const std::filesystem::path& file) {
  struct stat status {};
  REQUIRE(::stat(file.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

}  // namespace

TEST_CASE("init makes an htpasswd and a credentials file only its owner reads", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const auto data = folder.path() / "data";
  const program_result init = run_comfyq_server({"init", "--users", "3", "--data", data.string()});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK_THAT(init.out, Catch::Contains("credentials.txt"));

  CHECK(mode_of(data / "credentials.txt") == 0600);
  CHECK(mode_of(data / "htpasswd") == 0644);
  const auto users = comfyq::server::htpasswd::load(data / "htpasswd");
  CHECK(users.size() == 4);
  std::istringstream credentials(read_file(data / "credentials.txt"));
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
      run_comfyq_server({"init", "--users", "2", "--prefix", "team", "--data", folder.path().string()});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK_THAT(read_file(folder.path() / "credentials.txt"), Catch::Contains("\nteam01:") && Catch::Contains("\nteam02:"));
}

TEST_CASE("init hashes at bcrypt's lowest cost unless told otherwise", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  REQUIRE(run_comfyq_server({"init", "--users", "1", "--data", (folder.path() / "cheap").string()}).exit_code == 0);
  CHECK_THAT(read_file(folder.path() / "cheap" / "htpasswd"), Catch::Contains("admin:$2b$04$"));
  const program_result dear =
      run_comfyq_server({"init", "--users", "1", "--bcrypt-cost", "6", "--data", (folder.path() / "dear").string()});
  INFO(dear.err);
  REQUIRE(dear.exit_code == 0);
  CHECK_THAT(read_file(folder.path() / "dear" / "htpasswd"), Catch::Contains("admin:$2b$06$"));
  CHECK(comfyq::server::htpasswd::load(folder.path() / "dear" / "htpasswd").size() == 2);
}

TEST_CASE("init never overwrites either file, and says which one is in the way", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const std::string data = folder.path().string();
  REQUIRE(run_comfyq_server({"init", "--users", "2", "--data", data}).exit_code == 0);
  const std::string htpasswd = read_file(folder.path() / "htpasswd");
  const std::string credentials = read_file(folder.path() / "credentials.txt");

  const program_result again = run_comfyq_server({"init", "--users", "5", "--data", data});
  CHECK(again.exit_code != 0);
  CHECK_THAT(again.err, Catch::Contains((folder.path() / "credentials.txt").string() + ": exists already") &&
                            Catch::Contains("move it"));
  CHECK(read_file(folder.path() / "htpasswd") == htpasswd);
  CHECK(read_file(folder.path() / "credentials.txt") == credentials);

  // With only the htpasswd left, it is the one named, and still nothing is written.
  std::filesystem::remove(folder.path() / "credentials.txt");
  const program_result half = run_comfyq_server({"init", "--users", "5", "--data", data});
  CHECK(half.exit_code != 0);
  CHECK_THAT(half.err, Catch::Contains((folder.path() / "htpasswd").string() + ": exists already"));
  CHECK(read_file(folder.path() / "htpasswd") == htpasswd);
  CHECK_FALSE(std::filesystem::exists(folder.path() / "credentials.txt"));
}

TEST_CASE("a wrong init command line exits 2, naming the flag", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  const std::string data = folder.path().string();
  const program_result no_users = run_comfyq_server({"init", "--data", data});
  CHECK(no_users.exit_code == 2);
  CHECK_THAT(no_users.err, Catch::Contains("--users is required"));

  const program_result zero = run_comfyq_server({"init", "--users", "0", "--data", data});
  CHECK(zero.exit_code == 2);
  CHECK_THAT(zero.err, Catch::Contains("--users: 0 is not a number of participants from 1 to 999"));

  const program_result prefix = run_comfyq_server({"init", "--users", "2", "--prefix", "a b", "--data", data});
  CHECK(prefix.exit_code == 2);
  CHECK_THAT(prefix.err, Catch::Contains("--prefix: 'a b' cannot begin a user name"));

  const program_result cost = run_comfyq_server({"init", "--users", "2", "--bcrypt-cost", "3", "--data", data});
  CHECK(cost.exit_code == 2);
  CHECK_THAT(cost.err, Catch::Contains("--bcrypt-cost: 3 is outside bcrypt's 4..31"));

  CHECK(run_comfyq_server({"init", "--users", "2"}).exit_code == 2);
  CHECK(run_comfyq_server({"--no-such-flag"}).exit_code == 2);
  CHECK(std::filesystem::is_empty(folder.path()));
}

TEST_CASE("init reports a folder it cannot write to, and exits 1", "[server][init]") {
  const comfyq::testing::scratch_folder folder;
  std::ofstream(folder.path() / "a-file") << "not a folder\n";
  const program_result init =
      run_comfyq_server({"init", "--users", "2", "--data", (folder.path() / "a-file" / "data").string()});
  CHECK(init.exit_code == 1);
  CHECK_THAT(init.err, Catch::Contains("a-file"));
}
