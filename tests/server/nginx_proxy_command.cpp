// The site nginx-config prints, served by a real nginx in front of a stand-in for
// comfyq-server: only requests with a right password pass, and the server learns the user from
// nginx, never from the client, and never sees the password.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/header_echo.hpp"
#include "server/nginx_prefix.hpp"
#include "support/child_process.hpp"
#include "support/program_run.hpp"

using comfyq::testing::child_process;
using comfyq::testing::find_program;
using comfyq::testing::header_echo;
using comfyq::testing::nginx_prefix;
using comfyq::testing::program_result;
using comfyq::testing::run_program;

namespace {

// A port nothing listens on now (the kernel's next ephemeral one).
unsigned short free_port() {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(probe);
  return ntohs(address.sin_port);
}

bool accepts_connections(unsigned short port) {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool connected = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(probe);
  return connected;
}

// nginx with the site, in the foreground as one process (so that killing it leaves nothing behind).
struct proxied_echo {
  nginx_prefix prefix;
  header_echo echo;
  unsigned short port = free_port();
  std::string log = prefix.path("nginx.log");
  child_process nginx;

  proxied_echo() : nginx(start(prefix, echo, port, log)) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!accepts_connections(port) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO("nginx's log: " << std::ifstream(log).rdbuf());
    REQUIRE(accepts_connections(port));
  }

  static child_process start(const nginx_prefix& prefix, const header_echo& echo, unsigned short port,
                             const std::string& log) {
    std::vector<std::string> flags = prefix.site_flags(port, echo.port());
    flags.insert(flags.end(), {"--redirect-port", "0"});
    prefix.write_site(flags);
    std::vector<std::string> arguments = prefix.nginx_arguments();
    arguments.insert(arguments.end(), {"-g", "daemon off; master_process off;"});
    return child_process(nginx_prefix::nginx(), arguments, log);
  }

  // The password `comfyq-server init` gave `user`.
  std::string password_of(const std::string& user) const {
    std::ifstream credentials(prefix.path("data/credentials.txt"));
    for (std::string line; std::getline(credentials, line);) {
      if (line.starts_with(user + ":")) return line.substr(user.size() + 1);
    }
    FAIL("no password for " << user);
    return "";
  }

  // curl's answer to GET / with `more` arguments: the status code, then the body.
  program_result get(std::vector<std::string> more) const {
    const std::string curl = find_program("curl");
    INFO("curl sends the test's requests: run scripts/install-deps");
    REQUIRE_FALSE(curl.empty());
    std::vector<std::string> arguments{"--silent", "--insecure", "--max-time", "10", "--write-out", "%{http_code}\n"};
    arguments.insert(arguments.end(), more.begin(), more.end());
    arguments.push_back("https://127.0.0.1:" + std::to_string(port) + "/");
    return run_program(curl, arguments);
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
