// A ComfyUI API client written as ComfyUI's own examples are (examples/comfyui_api_client.py),
// unmodified, against a participant's ComfyUI on comfyq-server behind nginx with basic auth, the
// server's worker running the prompt on the real ComfyUI: it gets its image as it would from
// that ComfyUI itself.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "real_comfyui/real_comfyui.hpp"
#include "real_comfyui/workflows.hpp"
#include "server/nginx_prefix.hpp"
#include "server/running_nginx.hpp"
#include "server/serving.hpp"
#include "support/child_process.hpp"
#include "support/program_run.hpp"
#include "support/scratch_folder.hpp"

namespace real = comfyq::testing::real;

TEST_CASE(
    "an unmodified ComfyUI client gets its image from a participant's ComfyUI whose worker runs a real "
    "ComfyUI",
    "[worker_process][comfyui_api]") {
  real::real_comfyui& comfyui = real::shared_comfyui();
  real::settle(comfyui);
  const comfyq::testing::nginx_prefix prefix;
  comfyq::testing::child_process server(
      COMFYQ_SERVER_EXECUTABLE,
      {"serve", "--store", "memory", "--comfyui", comfyui.address(), "--listen", "127.0.0.1:0", "--data",
       prefix.path("data"), "--auth", "header", "--trusted-proxies", "127.0.0.1"},
      prefix.path("server.log"));
  const comfyq::testing::running_nginx nginx(prefix, comfyq::testing::listening_port(server));
  INFO("the server's log: " << real::tail_of(prefix.path("server.log")));

  const comfyq::testing::scratch_folder out;
  const std::filesystem::path workflow = out.path() / "invert.json";
  std::ofstream(workflow) << real::invert_graph("client").dump();
  const comfyq::testing::program_result run = comfyq::testing::run_program(
      "/usr/bin/python3", {COMFYQ_EXAMPLE_CLIENT, "--server", nginx.url("/user/user01/"), "--user", "user01",
                           "--password", comfyq::testing::password_of(prefix.path("data/credentials.txt"), "user01"),
                           "--insecure", workflow.string(), "--out", (out.path() / "images").string()});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  std::vector<std::filesystem::path> images;
  for (const auto& entry : std::filesystem::directory_iterator(out.path() / "images")) images.push_back(entry.path());
  REQUIRE(images.size() == 1);
  CHECK(images[0].filename().string().starts_with("client_"));
  CHECK(comfyq::testing::contents(images[0]).starts_with("\x89PNG"));
}
