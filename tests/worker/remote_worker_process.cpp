// comfyq-worker on another machine than comfyq-server (--files-url), as the operator starts it:
// a token the server refuses is found at start, before the queue is reached, and named.

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "server/api_server.hpp"
#include "support/child_process.hpp"
#include "support/read_file.hpp"
#include "support/scratch_folder.hpp"

TEST_CASE("comfyq-worker with a token the files server refuses exits 2 at start, naming --files-token",
          "[worker][process][remote_files]") {
  comfyq::testing::scratch_folder scratch;
  comfyq::testing::running_server server(scratch.path() / "server-files", "the-right-token");
  const auto log = scratch.path() / "worker.log";
  // No Redis answers at port 1: the worker must stop before it tries the queue.
  comfyq::testing::child_process worker(
      COMFYQ_WORKER_EXECUTABLE,
      {"--id", "remote-gpu", "--redis", "redis://127.0.0.1:1", "--files-url",
       "http://127.0.0.1:" + std::to_string(server.web.port()), "--files-token", "a-wrong-token", "--files-scratch",
       (scratch.path() / "worker-scratch").string()},
      log.string());
  const auto status = worker.wait_for_exit();
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 2);
  const std::string said = comfyq::testing::read_file(log);
  CHECK_THAT(said, Catch::Contains("--files-token") && Catch::Contains("refused"));
}
