// comfyq-server nginx-config as the instructor runs it: the site it prints is one the real
// nginx accepts (nginx -t, with a throwaway certificate), and a wrong flag is named.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/comfyq_server.hpp"
#include "server/nginx_prefix.hpp"
#include "support/program_run.hpp"

using comfyq::testing::nginx_prefix;
using comfyq::testing::program_result;
using comfyq::testing::run_comfyq_server;
using comfyq::testing::run_program;

namespace {

program_result nginx_test(const nginx_prefix& prefix) {
  std::vector<std::string> arguments = prefix.nginx_arguments();
  arguments.insert(arguments.begin(), "-t");
  return run_program(nginx_prefix::nginx(), arguments);
}

}  // namespace

TEST_CASE("nginx accepts the site nginx-config prints", "[server][nginx_config]") {
  const nginx_prefix prefix;
  std::vector<std::string> flags = prefix.site_flags(18443, 8000);
  flags.insert(flags.end(), {"--redirect-port", "18080", "--client-max-body-size", "2g"});
  prefix.write_site(flags);
  const program_result checked = nginx_test(prefix);
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
  CHECK_THAT(checked.err, Catch::Contains("test is successful"));
}

TEST_CASE("nginx accepts the site without the HTTP redirect", "[server][nginx_config]") {
  const nginx_prefix prefix;
  std::vector<std::string> flags = prefix.site_flags(18443, 8000);
  flags.insert(flags.end(), {"--redirect-port", "0"});
  prefix.write_site(flags);
  const program_result checked = nginx_test(prefix);
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
}

TEST_CASE("a wrong nginx-config flag exits 2, naming the flag and the fix", "[server][nginx_config]") {
  const std::vector<std::string> good{"nginx-config",
                                      "--server-name",
                                      "comfy.example.org",
                                      "--cert",
                                      "/etc/c.pem",
                                      "--key",
                                      "/etc/k.pem",
                                      "--upstream",
                                      "127.0.0.1:8000",
                                      "--htpasswd",
                                      "/var/lib/comfyq/htpasswd"};
  const program_result printed = run_comfyq_server(good);
  CHECK(printed.exit_code == 0);
  CHECK_THAT(printed.out, Catch::Contains("server_name comfy.example.org;"));

  std::vector<std::string> relative = good;
  relative[4] = "c.pem";
  const program_result refused = run_comfyq_server(relative);
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  CHECK_THAT(refused.err, Catch::Contains("comfyq-server nginx-config: --cert: 'c.pem' is not an absolute path"));

  std::vector<std::string> same_ports = good;
  same_ports.insert(same_ports.end(), {"--redirect-port", "443"});
  CHECK_THAT(run_comfyq_server(same_ports).err, Catch::Contains("--redirect-port: 443 cannot redirect to HTTPS"));

  const program_result missing = run_comfyq_server({"nginx-config", "--server-name", "comfy.example.org"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("is required"));
}
